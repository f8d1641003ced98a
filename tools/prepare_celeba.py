"""Build the CelebA image cache ahead of training (decode, crop, resize once; see data/celeba.py).

    python tools/prepare_celeba.py --data_dir=/data/celeba                  # train: partitions 0,1
    python tools/prepare_celeba.py --data_dir=/data/celeba --partitions=2   # test
    python tools/prepare_celeba.py --data_dir=/data/celeba --partitions=0,2 # the original's train

Training finds the cache by itself (same data_dir / cache_dir); running this first only moves
the minutes of JPEG decoding out of the training run.
"""


from absl import app, flags

from tfgan_suite import cli
from tfgan_suite.data import celeba

DATA_DIR = flags.DEFINE_string("data_dir", None, "CelebA folder: img_align_celeba/, "
                               "list_attr_celeba.txt, list_eval_partition.txt.", required=True)
PARTITIONS = flags.DEFINE_list("partitions", ["0", "1"], "Partitions of list_eval_partition.txt "
                               "to cache: 0 train, 1 validation, 2 test.")
CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Cache folder (default "
                                "<data_dir>/tfgan_cache, or ~/.cache/tfgan_suite/... when "
                                "data_dir is read-only).")
RESOLUTION = flags.DEFINE_integer("resolution", 64, "Output size in pixels.")


@cli.user_errors_exit
def main(argv):
    del argv
    report = celeba.prepare_cache(DATA_DIR.value, tuple(PARTITIONS.value), RESOLUTION.value,
                                  CACHE_DIR.value)
    action = "wrote" if report.built else "found an up-to-date cache,"
    print(f"{action} {report.path}: {report.num_images} images of "
          f"{RESOLUTION.value}x{RESOLUTION.value} in {report.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    app.run(main)
