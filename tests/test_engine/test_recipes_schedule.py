"""Recipe 5 of docs/customize_runtime.md: warmup by iteration then
MultiStep / Cosine / Poly by epoch, and a cyclic learning rate with
momentum moving against it.

Each test trains the first iterations for real (the rates the optimizer
steps with are recorded), then steps the runner's own schedulers through
its ParamSchedulerHook for the rest of the schedule without training, and
compares every iteration's rate with the closed-form curve written out
here."""
import numpy as np

from .recipe_utils import Recorder, build, fast_forward, recipe, train

# 20 samples in batches of 2: 10 iterations per epoch, so a 500-iteration
# warmup spans 50 epochs of a 210-epoch schedule
TEN_PER_EPOCH = {'train_dataloader.dataset.num_samples': 20,
                 'train_cfg.max_epochs': 210}


def run(tmp_path, snippet, options, epochs, real=3):
    """(learning rates, momenta) of param group 0 at every iteration of
    ``epochs`` epochs of BASE + ``snippet``: ``real`` trained, the rest
    fast-forwarded."""
    runner = build(tmp_path, snippet, options=options)
    rec = train(runner, Recorder(stop_after=real))
    assert len(rec.lrs) == real
    per_epoch = len(runner.train_dataloader)
    lrs, momenta = fast_forward(runner, real, epochs * per_epoch)
    return (np.array([r[0] for r in rec.lrs] + lrs),
            np.array([m[0] for m in rec.momenta] + momenta), per_epoch)


def warmup(k, end, start_factor):
    """LinearLR's factor: mmengine's schedulers act on steps begin..end-1
    and reach their target at the last one, end - 1."""
    last = end - 1
    return start_factor + (1 - start_factor) * np.minimum(k, last) / last


def test_warmup_then_multistep(tmp_path):
    lrs, _, per_epoch = run(tmp_path, recipe('schedule-warmup-multistep'),
                            TEN_PER_EPOCH, epochs=210)
    k = np.arange(len(lrs))
    epoch = k // per_epoch
    decay = np.where(epoch >= 170, 0.1, 1.0) * np.where(epoch >= 200, 0.1,
                                                        1.0)
    want = 0.01 * warmup(k, 500, 0.001) * decay
    np.testing.assert_allclose(lrs, want, rtol=1e-6)
    # the first trained iteration used 0.001 x the base rate
    assert abs(lrs[0] - 1e-5) < 1e-12
    assert abs(lrs[1700] - 1e-3) < 1e-9 and abs(lrs[-1] - 1e-4) < 1e-10


def test_warmup_then_cosine_with_eta_min(tmp_path):
    lrs, _, per_epoch = run(tmp_path, recipe('schedule-warmup-cosine'),
                            TEN_PER_EPOCH, epochs=210)
    base, eta_min = 4e-3, 4e-3 * 0.05
    k = np.arange(len(lrs))
    begin, length = 105 * per_epoch, 105 * per_epoch
    cosine = eta_min + (base - eta_min) * (
        1 + np.cos(np.pi * (k - begin) / length)) / 2
    want = np.where(k < begin, base * warmup(k, 1000, 1e-5), cosine)
    np.testing.assert_allclose(lrs, want, rtol=1e-6)
    # flat between warmup and decay, ends near eta_min
    assert abs(lrs[1049] - base) < 1e-12
    assert abs(lrs[-1] - eta_min) < 1e-7


def test_warmup_then_poly(tmp_path):
    lrs, _, per_epoch = run(tmp_path, recipe('schedule-warmup-poly'),
                            TEN_PER_EPOCH, epochs=210)
    k = np.arange(len(lrs))
    total = 210 * per_epoch
    # PolyLR also reaches eta_min (0) at its last step, end - 1
    want = 0.01 * warmup(k, 500, 0.001) * (1 - k / (total - 1)) ** 0.9
    np.testing.assert_allclose(lrs, want, rtol=1e-6, atol=1e-15)
    assert lrs[-1] < 1e-15 and abs(lrs[500] - 0.01 * (1 - 500 / 2099) ** 0.9
                                   ) < 1e-12


def test_cyclic_lr_with_momentum_against_it(tmp_path):
    # 2 iterations per epoch: the cycle is 16 + 24 iterations
    lrs, momenta, per_epoch = run(tmp_path, recipe('schedule-cyclic'),
                                  {'train_cfg.max_epochs': 20}, epochs=20)
    k = np.arange(len(lrs))
    up, down = 8 * per_epoch, 12 * per_epoch

    def cos_anneal(start, end, t, length):
        return end + (start - end) * (1 + np.cos(np.pi * t / length)) / 2

    # the first phase acts on steps 0..up-1; the second starts from the
    # value the first left at its last step
    peak_lr = cos_anneal(1e-4, 1e-3, up - 1, up)
    low_m = cos_anneal(0.95, 0.85, up - 1, up)
    want_lr = np.where(k < up, cos_anneal(1e-4, 1e-3, k, up),
                       cos_anneal(peak_lr, 1e-8, k - up, down))
    want_m = np.where(k < up, cos_anneal(0.95, 0.85, k, up),
                      cos_anneal(low_m, 0.95, k - up, down))
    np.testing.assert_allclose(lrs, want_lr, rtol=1e-6)
    np.testing.assert_allclose(momenta, want_m, rtol=1e-6)
    # the optimizer really stepped with Adam's beta1 = the momentum
    assert abs(momenta[0] - 0.95) < 1e-12
    # near 10x the base rate at the top while the momentum is near 0.85
    assert lrs.argmax() == up - 1 and abs(lrs.max() - 1e-3) < 1e-5
    assert momenta.argmin() == up - 1 and abs(momenta.min() - 0.85) < 1e-3
    rising = np.diff(lrs) > 0
    assert rising.sum() == up - 1
    assert (np.diff(momenta)[rising] < 0).all()
