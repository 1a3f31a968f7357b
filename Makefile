# cleanroom-agent: the two Quick start commands (make demo, make test) and the tools.
# Both install what they need: system packages with apt-get when run as root, and the
# project's virtualenv in .venv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the agent and its tests need (binaries the tests start as real peers).
APT_PACKAGES := mosquitto mosquitto-clients snmp snmpd iproute2 iputils-ping libsystemd-dev \
	pkg-config gcc openipmi util-linux chromium
# What image-build/build.sh runs on the host: debootstrap, mkfs.ext4 and debugfs
# (e2fsprogs), systemctl/systemd-sysusers/systemd-tmpfiles (systemd), git, tar, mount and
# mountpoint (mount, util-linux), find; and what `pip wheel` needs to compile
# systemd-python against Debian's libsystemd (gcc, pkg-config, libsystemd-dev, python3-dev).
IMAGE_APT_PACKAGES := debootstrap e2fsprogs systemd git tar mount util-linux findutils \
	coreutils gcc pkg-config libsystemd-dev python3-dev
# What image-build/boot-test.sh runs on the host: qemu (software emulation).
BOOT_TEST_APT_PACKAGES := qemu-system-x86
PYTEST_ARGS ?=
# OpenStack's virtualpdu (an APC PDU emulator), a third-party peer for the PDU tests, in
# its own virtualenv: it needs an old pysnmp (lextudio 5.x, asyncore) and pyasn1 < 0.6,
# which must not meet the project's pysnmp 7. Installed --no-deps because its declared
# libvirt-python builds only against libvirt's C headers, and the tests run virtualpdu's
# core with no outlet mapped to a VM, so libvirt is never loaded
# (tests/integration/devices/virtualpdu_main.py).
VPDU_VENV := .venv-virtualpdu
VPDU_STAMP := $(VPDU_VENV)/.installed

.PHONY: demo test lint bench sysdeps image-sysdeps boot-test-sysdeps venv clean image \
	image-training image-test kernel-lab

demo: sysdeps $(STAMP)
	$(VENV)/bin/cleanroom demo

test: sysdeps $(STAMP) $(VPDU_STAMP) kernel-lab
	$(PY) -m pytest -m "not bench" $(PYTEST_ARGS)

# The VM the kernel_lab tests run in (qemu, virtme-ng, Debian's kernel): root only; without
# it those tests skip saying how to prepare it (and fail in CI, where we are root).
kernel-lab: $(STAMP)
	@if [ "$$(id -u)" -eq 0 ]; then scripts/kernel-lab-prepare.sh; \
	else echo "kernel-lab: not root, skipping the VM preparation (sudo scripts/kernel-lab-prepare.sh)"; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check agent tests image-build
	$(VENV)/bin/ruff format --check agent tests image-build
	$(VENV)/bin/mypy

bench: sysdeps $(STAMP)
	@set -e; for script in tests/bench/bench_*.py; do \
		echo "== $$script"; $(PY) $$script; \
	done
	$(PY) -m pytest -m bench -s $(PYTEST_ARGS)

sysdeps:
	@scripts/sysdeps.sh $(APT_PACKAGES)

image-sysdeps:
	@scripts/sysdeps.sh $(IMAGE_APT_PACKAGES)

boot-test-sysdeps:
	@scripts/sysdeps.sh $(BOOT_TEST_APT_PACKAGES)

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(VPDU_STAMP): Makefile
	test -x $(VPDU_VENV)/bin/python || $(PYTHON) -m venv $(VPDU_VENV)
	$(VPDU_VENV)/bin/python -m pip install --quiet --no-deps 'virtualpdu>=2.2,<2.3'
	$(VPDU_VENV)/bin/python -m pip install --quiet 'pbr' 'pysnmp-lextudio>=5,<6' \
		'pyasn1>=0.5.1,<0.6' 'pyasn1-modules>=0.3,<0.4' "pyasyncore; python_version >= '3.12'"
	touch $(VPDU_STAMP)

# The controller's OS image (Debian 12, the agent in /opt/cleanroom, read-only root,
# signed manifest) and its boot test under qemu: root, minutes; see image-build/README.md.
# Each installs the host tools it runs (as root, with apt-get) and the venv whose exact
# versions the image is built from.
image: image-sysdeps $(STAMP)
	image-build/build.sh

image-training: image-sysdeps $(STAMP)
	image-build/build.sh --training

image-test: boot-test-sysdeps image-training
	image-build/boot-test.sh

clean:
	rm -rf $(VENV) $(VPDU_VENV) .pytest_cache .mypy_cache .ruff_cache var
