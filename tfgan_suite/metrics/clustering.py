"""Cluster-assignment metrics: NMI, ARI and purity of KMeans clusters against true classes.

Follows SLOGAN's evaluation (and Mukherjee et al.'s): KMeans with K clusters on per-example
representations (for SLOGAN the cluster probabilities softmax(cos(E(x), mu_k)); for encoders
without a prior, the raw encoder outputs), then scikit-learn's scores against the labels.
The settings whose scikit-learn defaults changed across versions are pinned here.
"""

from __future__ import annotations

import numpy as np
import sklearn.cluster
import sklearn.metrics

KMEANS_N_INIT = 10          # sklearn's default was 10 up to 1.3 and "auto" (= 1 for k-means++) since 1.4
KMEANS_RANDOM_STATE = 0     # as the original code
NMI_AVERAGE_METHOD = "arithmetic"  # sklearn's default since 0.22 (was "geometric" before)


def kmeans_labels(representations, num_clusters: int) -> np.ndarray:
    """KMeans(num_clusters, n_init=10, random_state=0) cluster index of every row."""
    x = np.asarray(representations, np.float64)
    kmeans = sklearn.cluster.KMeans(n_clusters=num_clusters, n_init=KMEANS_N_INIT,
                                    random_state=KMEANS_RANDOM_STATE)
    return kmeans.fit_predict(x)


def nmi(class_ids, cluster_ids) -> float:
    """Normalized mutual information I(Y; C) / ((H(Y) + H(C)) / 2) (arithmetic mean, pinned)."""
    return float(sklearn.metrics.normalized_mutual_info_score(
        class_ids, cluster_ids, average_method=NMI_AVERAGE_METHOD))


def ari(class_ids, cluster_ids) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985)."""
    return float(sklearn.metrics.adjusted_rand_score(class_ids, cluster_ids))


def purity(class_ids, cluster_ids) -> float:
    """Cluster purity: sum over clusters of the count of its most frequent class, divided by N.

    SLOGAN Appendix notes it rewards splitting a majority class over several clusters, so it is
    reported only beside NMI.
    """
    table = sklearn.metrics.cluster.contingency_matrix(class_ids, cluster_ids)  # [classes, clusters]
    return float(table.max(axis=0).sum() / table.sum())


def clustering_scores(representations, class_ids, num_clusters: int) -> dict:
    """{"nmi", "ari", "purity"} of kmeans_labels(representations, num_clusters) against class_ids."""
    clusters = kmeans_labels(representations, num_clusters)
    return {"nmi": nmi(class_ids, clusters), "ari": ari(class_ids, clusters),
            "purity": purity(class_ids, clusters)}
