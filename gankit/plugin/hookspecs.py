"""gankit's hook specifications: the contract between gankit and its plugins.

A plugin is a module with functions decorated by :data:`gankit.hookimpl` whose names
are hook names below. Each hook receives a ``register`` callback::

    register(name, factory, *, summary=None, training=None)

``name`` is what users type (``--generator NAME``); ``factory`` builds the component;
``summary`` is one line for ``gankit list-plugins`` (the factory docstring's first
line when omitted); ``training`` declares the training settings the component needs
(a :class:`gankit.TrainingDefaults` or a dict with its keys: ``lr_g``, ``lr_d``,
``beta1``, ``beta2``, ``d_steps``, ``update``, ``lr_decay``, ``loss``; a scheme's also
``generator``, ``discriminator``, ``batch_size``, ``steps``, ``ema_decay``), which a
run uses unless the user sets them.

The factory's positional parameters are exactly those its hook's contract names
(``spec`` for models, ``context`` for datasets, none for losses, penalties and
metrics); every other parameter is an **option**: keyword-only, with a default. Their
names, defaults and annotations are what ``list-plugins`` shows and what ``-o
family.option=value`` and config files are validated against. A factory that breaks
these rules is refused when the plugin registers, with a message naming it.

Plugins import TensorFlow lazily, inside factories, so that registration is cheap.
Exceptions raised by a plugin's code (a factory, a loss, a metric, a dataset) end the
command with one line naming the component and the plugin; raise
``gankit.DataError`` or ``gankit.UsageError`` for failures whose message is meant
for the user as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gankit.plugin.registry import RegisterFn

PROJECT_NAME = "gankit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_schemes(register: RegisterFn) -> None:
    """Register training schemes (``--scheme NAME``): what one training step does.

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a scheme factory::

        factory(context: gankit.SchemeContext, *, <options>) -> scheme

    ``scheme`` has ``roles`` (a sequence of :class:`gankit.Role`: the networks it
    trains, each built by a component family for a spec, which are exported and which
    averaged with ``--ema-decay``), ``groups`` (a sequence of :class:`gankit.Group`:
    its optimizers, each updating some roles, on the discriminator side (``lr_d``,
    ``d_steps`` updates a step) or the generator side (``lr_g``)), ``requires`` (what
    its dataset must yield: ``"images"``, ``"unpaired"`` or ``"paired"``), an optional
    ``setup(nets)`` called once the roles are built (create state variables there, and
    return them from a ``state`` property, ``{name: [variables]}``: they are
    checkpointed), an optional ``build_role(name, nets)`` for roles of family
    ``"scheme"`` (a network the scheme sizes from the others), an optional
    ``samples(network, examples)`` returning the sample grid's columns,
    an optional ``forward(step)`` whose result every ``losses`` call of a step sees as
    ``step.shared`` (a forward pass shared by the groups, e.g. the fakes), and
    ``losses(step) -> {group: loss}``: for each group in ``step.wanted``, a float
    scalar (the mean over the replica's examples) or a mapping with it as ``"loss"``
    and other scalars to log as ``<prefix>_<name>``. ``step`` is a
    :class:`gankit.Step`: the networks by role, this replica's batch, the global step,
    ``noise(dim)`` and ``shared``. Write the losses with ``keras.ops`` and
    model calls only; the stepper differentiates and applies them, under any
    ``tf.distribute`` strategy. ``training`` declares the scheme's learning rates and
    betas, below the components' declarations. ``gankit.testing.check_scheme`` checks
    the contract; ``docs/writing-plugins.md`` has a worked example.
    """


@hookspec
def register_generators(register: RegisterFn) -> None:
    """Register generator factories.

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a generator factory::

        factory(spec: gankit.ModelSpec, *, <options>) -> keras.Model

    The model takes a dict ``{"z": (B, spec.latent_dim), <condition>: (B, *shape)}``
    with one entry per name in ``spec.conditions`` and returns images of shape
    ``(B, *spec.image_shape)`` in [-1, 1], as float32. It must save and load as a
    ``.keras`` file with ``safe_mode=True`` (no ``Lambda`` layers).

    When ``spec.num_classes > 0`` (``--condition label``) the dict also has
    ``label``, int32 of shape ``(B,)``, and the images must depend on it
    (:mod:`gankit.nn.conditioning` has conditional batch norm and the label joined with
    ``z``). A factory that cannot condition on a class raises ``ValueError``, or builds
    no ``label`` input, which the trainer refuses for a label-conditional run.
    """


@hookspec
def register_discriminators(register: RegisterFn) -> None:
    """Register discriminator factories.

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a discriminator factory::

        factory(spec: gankit.ModelSpec, *, <options>) -> keras.Model

    The model takes a dict ``{"image": (B, *spec.image_shape), <condition>: ...}``
    and returns float32 logits of shape ``(B, 1)`` (or a patch map ``(B, h, w, 1)``).
    Logits, not probabilities: losses apply the sigmoid in a numerically stable way.

    When ``spec.num_classes > 0`` the dict also has ``label`` (int32, ``(B,)``) and
    the logits must depend on it (a projection, ``logit = psi(h) + <embed(y), h>``), or
    the model returns ``{"logits": (B, 1), "class_logits": (B, num_classes)}``, an
    auxiliary classifier (ACGAN) whose cross-entropy the trainer adds to both losses.

    When ``spec.rotation`` is set (``--rotation``) a factory that can returns
    ``{"logits": (B, 1), "rotation_logits": (B, 4)}`` (and ``class_logits`` if it has
    that head too): its guess of which quarter turn the input was given
    (``gankit.nn.rotation.rotation_head``), trained by the trainer's self-supervised
    term. One that has no such head raises ``ValueError`` or ignores the flag, and the
    trainer refuses ``--rotation`` with it.
    """


@hookspec
def register_losses(register: RegisterFn) -> None:
    """Register GAN loss factories.

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a loss factory::

        factory(*, <options>) -> loss

    ``loss`` has ``discriminator_loss(ctx)`` and ``generator_loss(ctx)``. Each returns
    a float scalar, the mean over the examples of ``ctx`` (the trainer divides it by
    the number of replicas and, under ``mixed_float16``, scales it), or a mapping with
    that scalar as ``"loss"`` and other named scalars to log (``metrics.jsonl`` gets
    them as ``d_<name>`` / ``g_<name>``). ``ctx`` is a :class:`gankit.LossContext`:
    real and fake images, the discriminator's logits on them (from the discriminator as
    it is at that update), the conditions, the discriminator itself (for gradient
    penalties) and whether the real images are paired targets of the conditions
    (``ctx.paired``, for reconstruction terms). Both methods are traced inside
    ``tf.function``: use ``keras.ops`` / TensorFlow ops. The full contract, with the
    update rules and a worked WGAN-GP example, is ``docs/losses.md``;
    ``gankit.testing.check_loss`` checks it.
    """


@hookspec
def register_penalties(register: RegisterFn) -> None:
    """Register discriminator penalty factories (``--penalty NAME``).

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a penalty factory::

        factory(*, <options>) -> penalty

    ``penalty`` has ``penalty(ctx)`` returning a float scalar (the mean over the
    examples of ``ctx``, weighted: what is added to the discriminator's loss) or a
    mapping with it as ``"loss"`` and extra scalars to log. ``ctx`` is the
    :class:`gankit.LossContext` of the discriminator update. It composes with any loss.
    An optional integer attribute ``every`` (default 1) makes it lazy, as in StyleGAN2:
    the trainer adds it on every ``every``-th step only, multiplied by ``every``.
    ``gankit.testing.check_penalty`` checks the contract.
    """


@hookspec
def register_datasets(register: RegisterFn) -> None:
    """Register dataset factories.

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a dataset factory::

        factory(context: gankit.DataContext, *, <options>) -> dataset

    ``dataset`` has the attributes ``image_shape`` (H, W, C), ``conditions``
    (``{name: shape}`` of the condition images it can provide),
    ``default_conditions`` (the tuple a run uses unless told otherwise) and
    ``splits`` (``{split: number of examples}``, exactly what ``load`` yields; ``train``
    is required, ``test`` is what sample grids, ``evaluate`` and ``--eval-every`` use),
    optionally ``paired`` (True when ``image`` is the ground-truth rendering of its
    condition images; a run given all of them is paired, one given some or only ``label``
    is not), ``class_names`` (the names of the labels' classes, in label order),
    ``describe()`` (a summary ``dataset-preview`` prints) and
    ``compose_parts(drawn) -> {"image": ..., <condition>: ...}`` (how ``image`` is made
    of the condition images, in Keras layers: an unconditional run then draws the parts
    and composes the image of them, ``--parts``, on by default; see
    ``gankit.nn.parts``), and a method
    ``load(split, *, epoch=0) -> tf.data.Dataset`` giving one epoch of unbatched
    dicts with ``"image"`` in [-1, 1] (float32) of ``image_shape``, every condition,
    and optionally ``label`` (int32 scalar, in ``[0, len(class_names))``). The result
    is deterministic for given options, split and epoch. ``image_shape`` must suit the
    models chosen (the built-in DCGAN needs a square, power-of-two side from 8).

    Before a run folder is made, ``gankit train`` checks the first training batch (dtype,
    range, shapes against ``image_shape`` and the run's conditions, ``label``) and builds
    the models for ``image_shape``; a problem is one line naming the dataset, or the
    model and what it requires. ``gankit.testing.check_dataset`` checks all of the above
    (``compose_parts`` on drawn parts in [-1, 1]: shapes, range, and that the composed
    generator saves and loads with Keras alone) and counts every split against ``splits``.
    The trainer owns batching, shuffling, prefetching and sharding. Data files are
    located through ``context`` (``gankit.data`` has the helpers).
    """


@hookspec
def register_metrics(register: RegisterFn) -> None:
    """Register evaluation metric factories.

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a metric factory::

        factory(*, <options>) -> metric

    ``metric`` has ``higher_is_better`` (bool: which way is better, used to keep the
    best checkpoint), optionally ``requires`` (a tuple of condition names the run
    must be conditioned on, ``label`` for a class-conditional run), ``needs_labels``
    (True if it reads the dataset's labels, ``ctx.labels``), ``needs_pairs`` (True
    if it compares each output with its ground truth ``ctx.real``: the run must be
    conditioned on a dataset declaring ``paired = True``) and
    ``protocol`` (a dict recorded with every result, e.g. ``{"extractor": ...}``),
    and a method ``compute(ctx) -> float`` (or a dict with ``"value"`` and extra
    numbers). ``ctx`` is a :class:`gankit.EvalContext`: ``n`` real images of a
    split, ``n`` generated images (from the same examples' conditions when the run is
    conditional), their conditions and labels, and cached feature extractors
    (``ctx.features("inception" | "classifier", "real" | "fake")``,
    ``ctx.classifier()``). ``compute`` runs eagerly, outside the training step;
    NumPy is fine.
    """


@hookspec
def register_loggers(register: RegisterFn) -> None:
    """Register experiment logger factories (``gankit train --logger NAME``).

    :param register: ``register(name, factory, *, summary=None, training=None)``.

    Contract of a logger factory::

        factory(context, *, <options>) -> logger

    ``context`` is a :class:`gankit.LoggerContext`: the run directory, the run's resolved
    config as a dict (``config.toml``'s content), the step this process starts from.
    ``<options>`` are set with ``-o logger.KEY=VALUE`` (each goes to every selected
    logger that has that option). ``logger`` implements any of the callback methods
    (``on_train_begin(run)``, ``on_step_end(step, logs)``, ``on_sample(step, grid)``,
    ``on_checkpoint(step, path)``, ``on_export(role, path)``,
    ``on_train_end(status)``; see :mod:`gankit.training.callbacks`) and optionally
    ``close()``. The factory runs before the run directory is made, so it writes
    nothing: import optional packages and check options there (a missing one is then
    reported before anything is written); open files and connections in
    ``on_train_begin``, which runs once the run directory is written, before the
    first step. An exception in either stops the run with one line naming the logger. An
    exception later is warned about once and the logger is left out; the run goes on.
    Only the chief of a multi-worker job logs.
    """
