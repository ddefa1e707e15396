"""The contract of a training scheme: what one training step does, as a plugin.

Plain types: no TensorFlow import. A scheme factory (hook ``register_schemes``) takes a
:class:`SchemeContext` and returns an object with:

- ``roles``: the :class:`Role` s it trains, each built by a component family;
- ``groups``: its optimizer :class:`Group` s, each updating some roles;
- ``requires``: what its dataset must yield (:data:`DATA_KINDS`);
- ``losses(step: Step) -> {group: loss}``: the losses of the groups ``step.wanted`` asks
  for, each a float scalar (the mean over this replica's examples) or a mapping with it
  as ``"loss"`` and other named scalars to log. Written with ``keras.ops`` and model
  calls only: the stepper (``gankit.training.stepper``) is the only code that differentiates
  and applies updates.

The stepper walks the groups. Every discriminator-side group updates ``d_steps`` times
a step, each time on its own batch and noise stream; then, by the run's update rule,
``alternating`` asks for the discriminator side's losses, applies them, then asks for
the generator side's (which see the updated discriminators), and ``simultaneous`` asks
for all of them at once. An optional ``forward(step)`` runs once at the start of a walk;
what it returns is ``step.shared`` in every ``losses`` call of the walk (the generator's
fakes serve both updates). ``docs/hooks.md`` has the whole
contract; ``gankit.testing.check_scheme`` checks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Role",
    "Group",
    "SchemeContext",
    "Step",
    "Scheme",
    "DATA_KINDS",
    "DEFAULT_UNPAIRED_SCHEME",
    "SIDES",
    "SCHEME_BUILT",
]

SIDES = ("discriminator", "generator")  # which learning rate a group takes (lr_d, lr_g)
# A role no component family builds: the scheme's own ``build_role(name, nets)`` makes it
# from the other roles' networks (CUT's patch projection head, sized by the generator).
SCHEME_BUILT = "scheme"
# What a scheme needs from its dataset: images (with the run's conditions), two
# unpaired domains, or pairs (the image is the ground truth of its condition images).
DATA_KINDS = ("images", "unpaired", "paired")
# What two unpaired domains train with by default: chosen by benchmarks/translation.py
# (docs/translation.md) as the scheme whose translations keep their content best, soonest.
DEFAULT_UNPAIRED_SCHEME = "fastcut"


@dataclass(frozen=True)
class Role:
    """A network a scheme trains.

    Attributes:
        name: the role's name (``generator``; ``g_ab``): checkpoint groups, export files
            and messages use it.
        family: the component family that builds it (``generators``, ``discriminators``),
            or :data:`SCHEME_BUILT`: the scheme's ``build_role(name, nets)`` builds it,
            given the networks of the roles declared before it.
        component: which of the run's components builds it: ``"generator"`` or
            ``"discriminator"`` (``--generator`` / ``--discriminator`` and their
            ``-o`` options); default: the family's.
        spec: the :class:`gankit.ModelSpec` to build for; None: the run's own spec for
            that family (the dataset's images, the run's conditions, ``--parts``,
            ``--rotation``), as the ``gan`` scheme trains.
        export: the ``.keras`` file stem the role is exported as (``generator``;
            ``generator_a2b``), or None.
        averaged: whether ``--ema-decay`` keeps a moving average of its weights, which
            sample grids, evaluation and the export then use.
    """

    name: str
    family: str
    component: str | None = None
    spec: Any = None
    export: str | None = None
    averaged: bool = False

    @property
    def builder(self) -> str:
        """The run component that builds this role (``generator`` or ``discriminator``)."""
        return self.component or self.family.rstrip("s")


@dataclass(frozen=True)
class Group:
    """An optimizer group: the roles one optimizer updates.

    Attributes:
        name: the group's name: its optimizer's checkpoint group.
        roles: the roles whose trainable weights it updates.
        side: ``"discriminator"`` (``lr_d``, updated ``d_steps`` times a step) or
            ``"generator"`` (``lr_g``, once).
        prefix: what its scalars are logged under (``d`` gives ``d_loss``, ``d_r1``).
    """

    name: str
    roles: tuple[str, ...]
    side: str
    prefix: str

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"`side` must be one of {', '.join(SIDES)}, received `{self.side}`.")
        if not self.roles:
            raise ValueError(f"group `{self.name}` updates no role")


@dataclass
class SchemeContext:
    """What a scheme factory sees of the run it is built for.

    Attributes:
        dataset: the run's dataset object (``image_shape``, ``conditions``, ...).
        conditions: the condition names the run feeds the models (``--condition``).
        parts: with ``--parts``, the drawn parts the discriminator sees beside the image.
        latent_dim: the noise's length.
        paired: whether the run's real images are the ground truth of its conditions.
        loss, penalty: the run's loss and penalty objects (penalty None: ``--penalty
            none``), and ``components`` their registry entries by role (``loss``,
            ``penalty``), for messages naming them.
        rotation: ``--rotation``'s weight (0: off).
        auxiliary: whether the discriminator has an auxiliary classifier head.
    """

    dataset: Any
    conditions: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    latent_dim: int = 100
    paired: bool = False
    loss: Any = None
    penalty: Any = None
    rotation: float = 0.0
    auxiliary: bool = False
    components: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """One call of a scheme's ``losses``: the networks, this replica's batch, the noise.

    Attributes:
        nets: the networks by role, called like the models (a discriminator through the
            run's DiffAugment when ``--augment`` is on).
        views: other views of a role's network (``"generator/parts"``: with ``--parts``,
            the generator returning the image and the drawn parts).
        batch: ``{key: (B, ...)}`` this replica's examples.
        step: the global step (an int64 scalar tensor).
        wanted: the groups whose losses the stepper asks for now.
        noise: ``noise(dim, salt=0)``: ``(B, dim)`` standard normal noise, this replica's
            slice of the global batch's, keyed by (seed, step, stream, salt).
        shared: what the scheme's optional ``forward(step)`` returned at the start of
            this walk (None without one): forward passes every group's loss uses, such
            as the generator's fakes, computed once and recorded for every group.
    """

    nets: Mapping[str, Any]
    views: Mapping[str, Any]
    batch: Mapping[str, Any]
    step: Any
    wanted: tuple[str, ...]
    noise: Callable[..., Any]
    shared: Any = None


class Scheme(Protocol):
    """What a scheme factory returns (see the module docstring)."""

    roles: Sequence[Role]
    groups: Sequence[Group]
    requires: str

    def losses(self, step: Step) -> Mapping[str, Any]: ...
