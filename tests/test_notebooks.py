"""The walkthroughs in notebooks/ run top to bottom (in QUICK mode, which shrinks their work) and are
committed as saved from a clean run, so what a reader sees is what the code does."""
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat",
                               reason="notebooks need the extras: pip install -r requirements-extra.txt")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_was_saved_from_a_clean_run(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), \
        f"{path.name}: run it top to bottom and save (jupyter execute --inplace {path.name})"
    errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert not errors, f"{path.name} was saved with an error: {errors[0].get('ename')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch, tmp_path):
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("NOTEBOOK_OUT", str(tmp_path))  # what a notebook trains goes here, not into out/
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, with the failing cell and its traceback, on any error
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
