"""tfgan_suite: conditional and unsupervised-conditional GANs in TensorFlow 2 / Keras 3.

Models: cWGAN-GP (Fabbri et al.), SLOGAN (Hwang et al.); see README.md.
"""

__version__ = "0.1.0"
