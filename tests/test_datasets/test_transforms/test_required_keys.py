import pytest

from posekit.datasets.transforms import MissingKeyError, check_required_keys


def test_passes_when_all_keys_present():
    check_required_keys({'a': 1, 'b': None}, ['a', 'b'], 'X')


def test_message_names_transform_key_source_and_present_keys():
    with pytest.raises(KeyError) as info:
        check_required_keys({'img': 0, 'bbox': 1},
                            ['bbox_center', 'bbox_scale'], 'TopdownAffine')
    assert isinstance(info.value, MissingKeyError)
    msg = str(info.value)
    assert msg.startswith("TopdownAffine needs the key 'bbox_center'")
    assert 'GetBBoxCenterScale' in msg
    assert "also missing: 'bbox_scale'" in msg
    assert "Keys present: ['bbox', 'img']" in msg


def test_transform_instance_is_named_by_class():

    class MyTransform:
        pass

    with pytest.raises(KeyError, match=r"MyTransform needs the key 'zz'"):
        check_required_keys({}, ['zz'], MyTransform())
