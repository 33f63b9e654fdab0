"""PoseValLoop: mmengine's validation loop that can also log the
validation loss.

Turned on in a config with::

    val_cfg = dict(type='PoseValLoop', val_loss=True)

Besides the metrics, every validation batch is then also run through the
model in ``'loss'`` mode (eval mode, no gradients, so batch-norm statistics
and weights stay as they are). The losses are averaged over the validation
samples (each batch weighted by its number of data samples, summed over all
processes) and returned with the metrics as ``val/loss`` (the sum of all
keys containing ``'loss'``, as in training), ``val/loss_kpt``,
``val/acc_pose``, ... The logger writes them to ``vis_data/scalars.json``
beside ``coco/AP``; ``CheckpointHook(save_best='val/loss', rule='less')``
can use them.

The losses need training targets, so the validation pipeline
(``val_dataloader.dataset.pipeline``) must contain ``GenerateTarget`` before
``PackPoseInputs``.
"""
from typing import Dict, List, Sequence, Tuple, Union

import torch
from mmengine.dist import all_gather_object
from mmengine.runner import ValLoop, autocast
from torch.utils.data import DataLoader

from posekit.engine.unwrap import unwrap_model
from posekit.registry import LOOPS

PIPELINE_KEY = 'val_dataloader.dataset.pipeline'
_FIX = (f"add dict(type='GenerateTarget', encoder=codec) before "
        f"PackPoseInputs in {PIPELINE_KEY}, or set val_cfg.val_loss=False")
_NO_TARGETS = ('val_cfg.val_loss=True: the validation samples carry no '
               'training targets (gt_fields / gt_instance_labels are empty), '
               f'so no loss can be computed; {_FIX}')


def _has_targets(sample) -> bool:
    """Whether a packed data sample carries codec targets (GenerateTarget
    fills ``gt_fields`` and/or ``gt_instance_labels``)."""
    for name in ('gt_fields', 'gt_instance_labels'):
        field = getattr(sample, name, None)
        if field is not None and len(field.keys()) > 0:
            return True
    return False


def _loss_scalar(value) -> float:
    """One number from a loss entry: a tensor (its mean), a list of tensors
    (the sum of their means, as mmengine's ``parse_losses``) or a number."""
    if isinstance(value, torch.Tensor):
        return value.detach().float().mean().item()
    if isinstance(value, (list, tuple)):
        return float(sum(_loss_scalar(v) for v in value))
    return float(value)


@LOOPS.register_module()
class PoseValLoop(ValLoop):
    """:class:`mmengine.runner.ValLoop` with an optional validation loss.

    Args:
        runner: the runner.
        dataloader: the validation dataloader (or its config).
        evaluator: the evaluator (or its config).
        fp16: run validation under autocast.
        val_loss: also compute the model's losses on every validation batch
            and add their means over the validation set to the metrics as
            ``val/<name>`` plus their total as ``val/loss``.

    Raises:
        TypeError: ``val_loss`` is not a bool.
        ValueError: with ``val_loss=True``, the validation samples carry no
            training targets (no ``GenerateTarget`` in
            ``val_dataloader.dataset.pipeline``): checked on the first
            sample when the loop is built (before training starts) and on
            every batch.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Dict, List], fp16: bool = False,
                 val_loss: bool = False) -> None:
        if not isinstance(val_loss, bool):
            raise TypeError(
                f'val_cfg.val_loss must be True or False, got {val_loss!r}')
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        # ``self.val_loss`` is mmengine's own loss buffer; keep a new name
        self.with_val_loss = val_loss
        self._loss_sums: Dict[str, float] = {}
        self._loss_count = 0
        self._logged_names: List[str] = []
        if val_loss:
            self._check_first_sample()

    def _check_first_sample(self) -> None:
        """Fail before training starts, not after the first epoch, when
        the validation samples have no targets."""
        dataset = self.dataloader.dataset
        if len(dataset) == 0:
            return
        first = dataset[0]
        sample = first.get('data_samples') if isinstance(first, dict) \
            else None
        if sample is not None and not _has_targets(sample):
            raise ValueError(_NO_TARGETS)

    def run(self) -> dict:
        """Validate once; returns the metrics (plus ``val/loss*``)."""
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        self._loss_sums, self._loss_count = {}, 0
        # last validation's values would show in this one's iteration logs
        self._forget_history(self._logged_names)
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if self.with_val_loss:
            losses = self.mean_losses()
            self._logged_names = list(losses)
            self._forget_history(self._logged_names)
            metrics.update(losses)
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    def _forget_history(self, names: Sequence[str]) -> None:
        """Drop the message hub's history of ``val/<name>``.

        mmengine's LogProcessor logs every scalar whose name contains
        'loss' as the mean over its last ``window_size`` values; a metric
        is added once per validation, so without this the logged
        ``val/loss`` would be a running mean over past validations.
        """
        history = self.runner.message_hub.log_scalars
        for name in names:
            history.pop(f'val/{name}', None)

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Union[dict, Sequence]) -> None:
        """Predict (for the metrics) and, when on, add the batch's losses."""
        self.runner.call_hook(
            'before_val_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.val_step(data_batch)
            if self.with_val_loss:
                self._add_batch_losses(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_val_iter', batch_idx=idx, data_batch=data_batch,
            outputs=outputs)

    def _add_batch_losses(self, data_batch: dict) -> None:
        samples = data_batch.get('data_samples') \
            if isinstance(data_batch, dict) else None
        if not samples:
            raise ValueError(
                'val_cfg.val_loss=True needs data samples with targets in '
                f'each validation batch, but the batch has none; {_FIX}')
        if not _has_targets(samples[0]):
            raise ValueError(_NO_TARGETS)
        model = self.runner.model
        module = unwrap_model(model)
        data = module.data_preprocessor(data_batch, False)
        try:
            if isinstance(data, dict):
                losses = module(**data, mode='loss')
            else:
                losses = module(*data, mode='loss')
        except (AttributeError, KeyError) as err:
            raise ValueError(
                'val_cfg.val_loss=True: the model could not compute its '
                f'loss on a validation batch ({type(err).__name__}: {err}); '
                'the targets its head needs are probably missing from the '
                f'validation samples; {_FIX}') from err
        weight = len(samples)
        for name, value in losses.items():
            self._loss_sums[name] = (self._loss_sums.get(name, 0.0)
                                     + weight * _loss_scalar(value))
        self._loss_count += weight

    def mean_losses(self) -> Dict[str, float]:
        """The sample-weighted means so far over all processes, keyed
        ``val/<name>``, plus ``val/loss`` (the total of the loss terms);
        empty when no batch was seen."""
        sums, count = merge_loss_sums(
            all_gather_object((self._loss_sums, self._loss_count)))
        if count == 0:
            return {}
        means = {f'val/{k}': v / count for k, v in sorted(sums.items())}
        total = sum(v for k, v in sums.items() if 'loss' in k) / count
        means['val/loss'] = total
        return means


def merge_loss_sums(
        parts: Sequence[Tuple[Dict[str, float], int]]
) -> Tuple[Dict[str, float], int]:
    """Add up ``(sums, count)`` pairs gathered from several processes (a
    process with no batches contributes ``({}, 0)``)."""
    sums: Dict[str, float] = {}
    count = 0
    for part_sums, part_count in parts:
        for name, value in part_sums.items():
            sums[name] = sums.get(name, 0.0) + value
        count += part_count
    return sums, count


__all__ = ['PoseValLoop', 'merge_loss_sums']
