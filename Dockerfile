# sparsesweep with real Timeloop and Accelergy: `--backend timeloop` and `--backend native` both work here.
#
# Base image: the Accelergy project's official image, which has timeloop-model, timeloop-mapper,
# accelergy and its energy plug-ins on PATH.  That project publishes moving tags only (latest,
# latest-amd64, latest-arm64), so the architecture tag is named explicitly below; for a
# bit-for-bit rebuild pin its digest instead (see README, "Running on real Timeloop (Docker)"):
#   docker build --build-arg BASE_IMAGE=timeloopaccelergy/accelergy-timeloop-infrastructure@sha256:<digest> .
# On an arm64 host: --build-arg BASE_IMAGE=timeloopaccelergy/accelergy-timeloop-infrastructure:latest-arm64
#
# Python: the image's own Python (used by Accelergy) is older than the 3.12 sparsesweep needs, so a
# pinned uv installs a standalone CPython 3.12 into a separate virtual environment (/opt/venv).
# Accelergy keeps running on the image's Python; Timeloop finds it on PATH as before.
ARG BASE_IMAGE=timeloopaccelergy/accelergy-timeloop-infrastructure:latest-amd64
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.8

FROM ${UV_IMAGE} AS uv

FROM ${BASE_IMAGE}

COPY --from=uv /uv /uvx /usr/local/bin/

ENV UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

RUN uv venv --python 3.12 /opt/venv

# The project is installed in editable mode so that its data folders (arch/, workloads/,
# sparse_opt/, templates/) stay beside the code, as in a checkout.
# The test extras come along, so the image can run the test suite too (README).
COPY . /opt/sparsesweep
RUN uv pip install --python /opt/venv/bin/python --no-binary hwcomponents-cacti -e '/opt/sparsesweep[test]'
# hwcomponents-cacti keeps CACTI's input and output files in a folder inside its own package: make it
# writable for any user, so component models also run as a non-root user.
RUN d="$(/opt/venv/bin/python -c 'import hwcomponents_cacti, os; print(os.path.dirname(hwcomponents_cacti.__file__))')" \
    && mkdir -p "$d/cacti_inputs_outputs" && chmod 1777 "$d/cacti_inputs_outputs"

# Run as any user (`docker run -u "$(id -u):$(id -g)"`, as the README shows), HOME is "/" and not
# writable, so nothing may depend on it: the caches and Timeloop's working folders live in the
# mounted project folder (/work, which that user owns), and HOME and the matplotlib/XDG cache
# folders point at /tmp, which every user can write.
ENV PATH=/opt/venv/bin:$PATH \
    SPARSESWEEP_CACHE_DIR=/work/.sparsesweep-cache \
    SPARSESWEEP_TIMELOOP_RUNS=/work/timeloop-runs \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    MPLCONFIGDIR=/tmp/.matplotlib \
    LD_LIBRARY_PATH=/usr/local/lib

# Fail the build early if a tool is missing.
RUN command -v timeloop-model && command -v timeloop-mapper && command -v accelergy \
    && sparsesweep --help > /dev/null

WORKDIR /work
ENTRYPOINT []
CMD ["sparsesweep", "--help"]
