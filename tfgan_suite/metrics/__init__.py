"""Evaluation metrics. Modules (import the one you need; only the networks import TensorFlow):

frechet            Frechet distance of two Gaussians (float64) and streaming feature statistics
features           batches from arrays / generator callables -> features or their statistics
fid                FID-like Frechet distance for any feature extractor, KID
inception          the FID Inception-v3 (2015-12-05 graph) in Keras, with explicit preprocessing
inception_score    Inception Score / classifier score from logits
icfid              SLOGAN's intra-cluster FID (greedy, Algorithm 2; and Hungarian), intra-class FID
clustering         KMeans + NMI / ARI / purity with pinned scikit-learn settings
attributes         attribute-control accuracy, error of learned mixing proportions (pi)
domain_classifier  small CNN for MNIST-like data: features for "frechet_classifier_distance"
real_features      the real split's features, once per evaluation session and stored on disk
"""
