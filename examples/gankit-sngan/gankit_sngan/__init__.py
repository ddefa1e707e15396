"""SNGAN as its paper ran it, composed from gankit's built-ins: an example of a
third-party plugin that extends components instead of copying them.

- generator ``sngan`` and discriminator ``sngan``: gankit's built-in ``resnet`` models
  (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks"),
  built with ``gankit.create`` at the paper's CIFAR-10 widths — 256 channels in the
  generator, 128 in the discriminator — where the built-in defaults to 64 to keep a CPU
  step affordable. Label-conditional runs (``--condition label``) get the built-in's
  conditional batch norm and projection (Miyato & Koyama 2018).
- loss ``sngan``: gankit's built-in ``hinge`` loss, also through ``gankit.create``,
  declaring the paper's training settings — Adam lr 2e-4, betas (0, 0.9), five
  discriminator steps per generator step (setting "C" of its CIFAR-10 runs) — so that
  ``--loss sngan`` carries them to any pair of models.

Nothing here is copied from gankit: options are validated by the components that own
them, and a fix in the built-in reaches this plugin.
"""

from __future__ import annotations

from typing import Any

import gankit

__version__ = "0.2.0"

SNGAN_TRAINING = gankit.TrainingDefaults(lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.9, d_steps=5)


def build_sngan_generator(spec: gankit.ModelSpec, *, width: int = 256) -> Any:
    """SNGAN ResNet generator at the paper's width (gankit's resnet, 256 channels)."""
    return gankit.create("generators", "resnet", spec, width=width)


def build_sngan_discriminator(spec: gankit.ModelSpec, *, width: int = 128) -> Any:
    """SNGAN ResNet discriminator at the paper's width (gankit's resnet, 128 channels)."""
    return gankit.create("discriminators", "resnet", spec, width=width)


def build_sngan_loss() -> Any:
    """Hinge loss with SNGAN's training settings (Miyato et al. 2018)."""
    return gankit.create("losses", "hinge")


@gankit.hookimpl
def register_generators(register: Any) -> None:
    register("sngan", build_sngan_generator)


@gankit.hookimpl
def register_discriminators(register: Any) -> None:
    register("sngan", build_sngan_discriminator)


@gankit.hookimpl
def register_losses(register: Any) -> None:
    register("sngan", build_sngan_loss, training=SNGAN_TRAINING)
