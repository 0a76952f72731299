"""The data of a run: Fashion-MNIST (or a subset of it, for smoke runs) as ``tf.data`` pipelines.

The scaled images are cached once in memory; each epoch draws a permutation that depends only on
``(seed, epoch)``, gathers whole batches, and prefetches the next batch while the current one
trains, so a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from optreg.lab.config import TrainConfig


def load_data(config: TrainConfig):
    """Fashion-MNIST as uint8 arrays; ``subset`` keeps that many training images and a quarter as
    many (at least 200) validation and test images, for smoke runs."""
    from optreg.data import load_fashion_mnist

    data = load_fashion_mnist(
        config.data_dir, validation_size=config.validation_size, seed=config.seed
    )
    if config.subset is None:
        return data
    n_eval = max(200, config.subset // 4)
    return data._replace(
        x_train=data.x_train[: config.subset],
        y_train=data.y_train[: config.subset],
        x_valid=data.x_valid[:n_eval],
        y_valid=data.y_valid[:n_eval],
        x_test=data.x_test[:n_eval],
        y_test=data.y_test[:n_eval],
    )


def _scale(x, y):
    import tensorflow as tf

    return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.int32)


def training_dataset(x, y, batch_size: int, seed: int, first_epoch: int, epochs: int):
    """Batches of epochs ``first_epoch .. epochs-1``: scaled once and cached, then for each epoch
    a permutation that depends only on ``(seed, epoch)``, whole-batch gathers, and prefetching."""
    import tensorflow as tf

    cached = tf.data.Dataset.from_tensors((x, y)).map(_scale).cache()
    n = len(x)

    def epoch_indices(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def batches(images, labels):
        indices = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_indices)
        return indices.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))

    return _with_options(cached.flat_map(batches).prefetch(tf.data.AUTOTUNE))


def evaluation_dataset(x, y, batch_size: int):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).map(_scale).cache()
    return _with_options(ds.prefetch(tf.data.AUTOTUNE))


def _with_options(ds):
    import tensorflow as tf

    options = tf.data.Options()
    # in-memory data: shard by batch across workers (there are no files to shard)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
