"""reader.ntu: sample names and the official benchmark splits."""
import pytest

from reader import SampleNameError, is_training, num_classes, parse_name, uses_ntu120


def test_parse_name_reads_every_field():
    assert parse_name('S017C003P020R002A058.skeleton') == dict(
        setup=17, camera=3, performer=20, replication=2, action=58)


def test_parse_name_ignores_folder_and_extension():
    assert parse_name('/data/ntu/S001C002P003R001A120.skeleton')['action'] == 120
    assert parse_name('S001C002P003R001A120')['camera'] == 2


@pytest.mark.parametrize('name', ['S001C001P001R001.skeleton', 'notes.skeleton',
                                  'S001C001P001R001A01.skeleton', 'XS001C001P001R001A001',
                                  'S001C001P001R001A000.skeleton'])
def test_parse_name_refuses_names_without_the_fields(name):
    with pytest.raises(SampleNameError, match='name'):
        parse_name(name)


def fields(setup=1, camera=1, performer=1):
    return dict(setup=setup, camera=camera, performer=performer, replication=1, action=1)


@pytest.mark.parametrize('performer, training', [(1, True), (38, True), (3, False), (40, False)])
def test_xsub_splits_on_performers(performer, training):
    assert is_training(fields(performer=performer), 'ntu-xsub') is training


@pytest.mark.parametrize('camera, training', [(1, False), (2, True), (3, True)])
def test_xview_splits_on_cameras(camera, training):
    assert is_training(fields(camera=camera), 'ntu-xview') is training


@pytest.mark.parametrize('performer, training', [(1, True), (45, True), (103, True), (3, False),
                                                 (44, False), (106, False)])
def test_xsub120_splits_on_its_longer_performer_list(performer, training):
    assert is_training(fields(performer=performer), 'ntu-xsub120') is training


@pytest.mark.parametrize('setup, training', [(1, False), (2, True), (31, False), (32, True)])
def test_xset120_trains_on_even_setups(setup, training):
    assert is_training(fields(setup=setup), 'ntu-xset120') is training


def test_class_counts_and_folders():
    assert num_classes('ntu-xview') == 60 and num_classes('ntu-xset120') == 120
    assert not uses_ntu120('ntu-xsub') and uses_ntu120('ntu-xsub120')


def test_unknown_benchmark_is_an_error():
    with pytest.raises(ValueError, match='unknown benchmark'):
        is_training(fields(), 'kinetics')
