"""Dask scale-out on a real LocalCluster: dataset conversion and .mla files as dask arrays."""

from __future__ import annotations

import pickle
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import blosc2
import dask
import dask.array as da
import numpy as np
import pytest
from dask import distributed

from mlarray import MLArray
from mlarray.cli import main
from mlarray.errors import NoArrayError
from mlarray_io._runner import SCHEDULER_TIMEOUT
from mlarray_io.dask import import_distributed, to_dask_array
from mlarray_io.dataset import convert_dataset
from mlarray_io.errors import MissingDependencyError, SchedulerError
from tests.io._conversion import all_files, run_mlarray, write_corrupt_nifti, write_mla, write_nifti

# Even without a dashboard a scheduler serves HTTP (metrics, health), on 8787 unless
# told otherwise: a port another cluster on the machine may hold (a warning, an error
# here). Port 0 lets the system choose a free one.
FREE_PORT = "127.0.0.1:0"


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """Two worker processes, so that every task really crosses a process boundary."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=FREE_PORT
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


def test_partitions_follow_the_file_chunks(tmp_path: Path, client: distributed.Client) -> None:
    data = np.random.default_rng(0).normal(size=(40, 30, 20)).astype(np.float32)
    array = to_dask_array(write_mla(tmp_path / "a.mla", data, chunks=[16, 16, 8]))
    assert array.chunks == ((16, 16, 8), (16, 14), (8, 8, 4))
    assert (array.shape, array.dtype) == (data.shape, data.dtype)
    pickle.dumps(dict(array.__dask_graph__()))  # nothing unpicklable in the graph
    np.testing.assert_array_equal(array.compute(), data)
    np.testing.assert_array_equal(array[5:30, 3, ::2].compute(), data[5:30, 3, ::2])


def test_files_written_by_plain_blosc2_use_their_own_chunk_grid(
    tmp_path: Path, client: distributed.Client
) -> None:
    data = np.arange(30 * 20 * 10, dtype=np.int32).reshape(30, 20, 10)
    path = tmp_path / "plain.mla"
    plain = blosc2.asarray(data, urlpath=str(path), mode="w", chunks=(8, 20, 5), blocks=(4, 10, 5))
    plain.schunk.vlmeta["written_by"] = "another tool"  # a compressed vlmeta entry
    del plain
    array = to_dask_array(path)
    assert array.chunks == ((8, 8, 8, 6), (20,), (5, 5))
    np.testing.assert_array_equal(array.compute(), data)
    assert int(array.sum().compute()) == int(data.sum())


def test_metadata_only_files_have_no_dask_array(tmp_path: Path) -> None:
    MLArray(spacing=[1.0, 1.0]).save(tmp_path / "meta.mla")
    with pytest.raises(NoArrayError, match="metadata only"):
        to_dask_array(tmp_path / "meta.mla")


def test_dataset_statistics_example(tmp_path: Path, client: distributed.Client) -> None:
    """The example of mlarray_io.dask's docstring, on two images and two label maps."""
    rng = np.random.default_rng(1)
    images = [rng.integers(-1000, 2000, size=shape, dtype=np.int16) for shape in [(30, 20, 10),
              (25, 20, 12)]]  # fmt: skip
    labels = [rng.integers(0, 3, size=image.shape, dtype=np.uint8) for image in images]
    image_paths = [
        write_mla(tmp_path / f"img{i}.mla", a, [16, 16, 8]) for i, a in enumerate(images)
    ]
    label_paths = [
        write_mla(tmp_path / f"lab{i}.mla", a, [16, 16, 8]) for i, a in enumerate(labels)
    ]

    def value_counts(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
        voxels = da.concatenate([to_dask_array(path).ravel() for path in paths])
        return dask.compute(*da.unique(voxels, return_counts=True))

    values, counts = value_counts(image_paths)
    cumulative = np.cumsum(counts) / counts.sum()
    low, high = values[np.searchsorted(cumulative, [0.005, 0.995])]
    classes, class_counts = value_counts(label_paths)

    every_voxel = np.concatenate([image.ravel() for image in images])
    expected = np.percentile(every_voxel, [0.5, 99.5], method="inverted_cdf")
    assert [low, high] == list(expected)
    every_label = np.concatenate([label.ravel() for label in labels])
    expected_classes, expected_counts = np.unique(every_label, return_counts=True)
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(class_counts, expected_counts)


def test_convert_dataset_on_the_cluster(tmp_path: Path, client: distributed.Client) -> None:
    data = write_nifti(tmp_path / "data" / "a.nii.gz", seed=1)
    write_nifti(tmp_path / "data" / "sub" / "b.nii.gz", seed=2)
    write_corrupt_nifti(tmp_path / "data" / "bad.nii.gz")
    summary = convert_dataset(tmp_path / "data", tmp_path / "out", scheduler=client, progress=False)
    assert [Path(r.output).name for r in summary.converted] == ["a.mla", "b.mla"]
    assert [Path(r.source).name for r in summary.failed] == ["bad.nii.gz"]
    assert all_files(tmp_path / "out") == ["a.mla", "sub", "sub/b.mla"]
    np.testing.assert_array_equal(MLArray.open(tmp_path / "out" / "a.mla").to_numpy(), data)
    # A scheduler address works too; the client made for it is closed afterwards.
    again = convert_dataset(
        tmp_path / "data", tmp_path / "out", scheduler=client.scheduler.address, progress=False
    )
    assert (len(again.converted), len(again.skipped), len(again.failed)) == (0, 2, 1)


def test_cli_scheduler_address(tmp_path: Path, client: distributed.Client) -> None:
    write_nifti(tmp_path / "data" / "a.nii.gz")
    result = run_mlarray(
        "convert", tmp_path / "data", tmp_path / "out", "--scheduler", client.scheduler.address,
        "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "converted 1 (new: 1), skipped 0" in result.stdout
    assert (tmp_path / "out" / "a.mla").is_file()


def test_a_scheduler_nobody_answers_at_is_one_line_and_status_1(tmp_path: Path) -> None:
    write_nifti(tmp_path / "data" / "a.nii.gz")
    with socket.socket() as bound:  # bound but not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{bound.getsockname()[1]}"
        result = run_mlarray(
            "convert", tmp_path / "data", tmp_path / "out", "--scheduler", address, "--no-progress"
        )  # run_mlarray's timeout guards against a hang; the connect timeout bounds the wait
    assert (result.returncode, result.stdout) == (1, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"mlarray convert: error: scheduler {address!r} cannot be reached: ")
    assert line.endswith(f" after {SCHEDULER_TIMEOUT} s")


def test_a_scheduler_address_that_is_none_is_one_line_and_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nifti(tmp_path / "data" / "a.nii.gz")
    scheduler_before = dask.config.get("scheduler", None)
    args = ["convert", str(tmp_path / "data"), str(tmp_path / "out"), "--no-progress"]
    assert main([*args, "--scheduler", "notanaddress"]) == 1
    # the failed client left dask's global configuration as it was
    assert dask.config.get("scheduler", None) == scheduler_before
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mlarray convert: error: scheduler 'notanaddress' cannot be reached: ")
    with pytest.raises(SchedulerError, match="notanaddress") as caught:
        convert_dataset(tmp_path / "data", tmp_path / "out", scheduler="notanaddress")
    assert isinstance(caught.value, ConnectionError)


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "mlarray-io\[dask\]"'):
        import_distributed()
