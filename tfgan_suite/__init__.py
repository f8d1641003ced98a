"""tfgan_suite: conditional and unsupervised-conditional GANs in TensorFlow 2 / Keras 3.

Models: cWGAN-GP (Fabbri et al.), SLOGAN (Hwang et al.); see README.md.
"""

import os

# Quiet TensorFlow's C++ start-up logging (CUDA probing, oneDNN notices) unless asked for.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
