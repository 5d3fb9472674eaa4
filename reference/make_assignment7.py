"""Writes the assignment7 notebooks from reference/assignment7_cells.py: the reference notebook,
the handout, and the example submissions in submissions/assignment7/ (their expected.json are
written by hand). Run from the repository root: python reference/make_assignment7.py"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CELLS = (ROOT / "reference" / "assignment7_cells.py").read_text().split("# %% cell\n")[1:]
REPORT = (ROOT / "reference" / "assignment7_report.md").read_text()
OUT = ROOT / "submissions" / "assignment7"


def notebook(cells: list[str], title: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}")] + [nbformat.v4.new_code_cell(c.rstrip()) for c in cells]
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k}"  # stable ids: regenerating changes nothing
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def execute(cells: list[str]) -> list[tuple[str, list[bytes]]]:
    """Runs the cells in one namespace in a scratch folder holding the four Gutenberg files
    (shell lines skipped), as Colab would; returns each cell's printed output and figures (PNG)."""
    import contextlib
    import io
    import os
    import shutil
    import tempfile

    from grader.load import neutralise

    data = Path(os.environ.get("RNNGRADE_DATA", "/work/shared/data")) / "gutenberg"
    outputs, here = [], os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("sonnets.txt", "austen.txt", "poe.txt", "shakespeare_play.txt"):
            shutil.copy(data / name, Path(tmp) / name)
        os.chdir(tmp)
        try:
            ns = {"__name__": "__main__"}
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            for cell in cells:
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    exec(compile(neutralise(cell)[0], "<cell>", "exec"), ns)
                pngs = []
                for num in plt.get_fignums():  # what Colab would show under the cell
                    png = io.BytesIO()
                    plt.figure(num).savefig(png, format="png", dpi=50)
                    pngs.append(png.getvalue())
                plt.close("all")
                outputs.append((buf.getvalue(), pngs))
        finally:
            os.chdir(here)
    return outputs


OUTPUTS: list[tuple[str, list[bytes]]] | None = None


def with_outputs(nb: nbformat.NotebookNode, outputs: list[tuple[str, list[bytes]]]) -> nbformat.NotebookNode:
    import base64

    for k, (cell, (text, pngs)) in enumerate(zip(nb.cells[1:], outputs), start=1):
        cell.execution_count = k
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
        cell.outputs += [nbformat.v4.new_output("display_data", data={
            "image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure size 600x400 with 1 Axes>"})
            for png in pngs]
    return nb


def write(case: str, cells: list[str], report: str | None = REPORT, name: str = "assignment7.ipynb",
          extra: dict[str, bytes] | None = None) -> None:
    folder = OUT / case
    folder.mkdir(parents=True, exist_ok=True)
    nb = notebook(cells, "Assignment 7")
    if OUTPUTS is not None and len(cells) == len(CELLS):  # saved outputs: the reference run's
        with_outputs(nb, OUTPUTS)
    nbformat.write(nb, str(folder / name))
    if report is not None:
        (folder / "report.md").write_text(report)
    for rel, data in (extra or {}).items():
        (folder / rel).write_bytes(data)


def replaced(old: str, new: str) -> list[str]:
    out = [c.replace(old, new) for c in CELLS]
    assert out != CELLS, old
    return out


HANDOUT_CELLS = [CELLS[0], CELLS[1], '''def collate_fn(batch):
    # TODO: pad the sequences of the batch with pad_sequence (padding_value=PAD)
    raise NotImplementedError
''', '''class VanillaRNNCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        # TODO

    def forward(self, x, h):
        raise NotImplementedError  # TODO


class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        # TODO

    def forward(self, x, state):
        raise NotImplementedError  # TODO


class GRUCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        # TODO

    def forward(self, x, h):
        raise NotImplementedError  # TODO


class CustomRNN(nn.Module):
    def __init__(self, input_size, hidden_size, cell_type, num_layers=1):
        super().__init__()
        # TODO

    def forward(self, x_seq, lengths):
        raise NotImplementedError  # TODO: return (all_hiddens, last_hiddens)
''']


def main() -> None:
    global OUTPUTS
    import sys

    sys.path.insert(0, str(ROOT))
    OUTPUTS = execute(CELLS)
    print("".join(text for text, _ in OUTPUTS))
    nbformat.write(with_outputs(notebook(CELLS, "Assignment 7 (reference)"), OUTPUTS),
                   str(ROOT / "reference" / "assignment7.ipynb"))
    handout = ROOT / "assignments" / "assignment7" / "handout"
    handout.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(HANDOUT_CELLS, "Assignment 7"), str(handout / "assignment7.ipynb"))
    write("reference", CELLS, name="my_rnn_lab.ipynb", extra={"loss_curves.png": b"\x89PNG\r\n\x1a\n"})
    write("handout", HANDOUT_CELLS, report=None)
    write("last-hidden-at-minus-one", replaced("all_hiddens[torch.arange(B), lengths - 1, :]", "all_hiddens[:, -1, :]"))
    write("nn-lstm-inside-customrnn", replaced(
        '''        self.cells = nn.ModuleList(''',
        '''        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True) if cell_type == "lstm" else None
        self.cells = nn.ModuleList('''))
    style = replaced("""        self.W_f = nn.Linear(hidden_size + input_size, hidden_size)
        self.W_i = nn.Linear(hidden_size + input_size, hidden_size)
        self.W_c = nn.Linear(hidden_size + input_size, hidden_size)
        self.W_o = nn.Linear(hidden_size + input_size, hidden_size)

    def forward(self, x, state):
        h, c = state
        hx = torch.cat([h, x], dim=1)
        f = torch.sigmoid(self.W_f(hx))
        i = torch.sigmoid(self.W_i(hx))
        c_tilde = torch.tanh(self.W_c(hx))""", """        self.gates = nn.Linear(input_size + hidden_size, 4 * hidden_size)

    def forward(self, x, state):
        h, c = state
        o_pre, c_pre, i_pre, f_pre = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        f, i, c_tilde = torch.sigmoid(f_pre), torch.sigmoid(i_pre), torch.tanh(c_pre)
        hx = torch.cat([h, x], dim=1)
        self.W_o = lambda _: o_pre""")
    style = [c.replace("return (1 - z) * h + z * h_tilde", "return z * h + (1 - z) * h_tilde") for c in style]
    write("style-fused-lstm-gru-relabelled-z", style)
    write("report-table-disagrees", CELLS, report=REPORT.replace("| LSTM | 7,715 |", "| LSTM | 7,427 |"))
    raw = replaced("""        self.W_x = nn.Linear(input_size, hidden_size)
        self.W_h = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x, h):
        return torch.tanh(self.W_x(x) + self.W_h(h))""", """        self.W_x = nn.Parameter(torch.randn(input_size, hidden_size) * 0.1)
        self.W_h = nn.Parameter(torch.randn(hidden_size, hidden_size) * 0.1)
        self.b_h = nn.Parameter(torch.zeros(hidden_size))

    def forward(self, x, h):
        return torch.tanh(x @ self.W_x + h @ self.W_h + self.b_h)""")
    write("style-rnn-cell-raw-parameters", raw)
    write("rnn-cell-raw-sigmoid", [c.replace("return torch.tanh(x @ self.W_x + h @ self.W_h + self.b_h)",
                                             "return torch.sigmoid(x @ self.W_x + h @ self.W_h + self.b_h)") for c in raw])
    long_report = REPORT.replace("## Section 5: Reflection\n", "## Section 5: Reflection\n\n" + ("Padding matters. " * 400) + "\n")
    write("report-over-limit", CELLS, report=long_report)
    write("report-with-image", CELLS, report=REPORT.replace(
        "## Section 3", "![training loss](loss_curves.png)\n\n## Section 3"))


if __name__ == "__main__":
    main()
