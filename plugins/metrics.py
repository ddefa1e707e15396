"""Built-in metrics: FID, KID, classifier score, content and class accuracy, style
distance, PSNR to the ground truth.

The numerics are the pure functions of :mod:`gankit.eval.metrics`; features come from the
extractors of :mod:`gankit.eval.features` through the evaluation context, so FID and KID
computed together share one pass of the extractor.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

import gankit
from gankit.conditions import LABEL
from gankit.eval.metrics import (
    channel_statistics_distance,
    classifier_score,
    feature_statistics,
    frechet_distance,
    kernel_distance,
    pixel_fidelity,
)

Extractor = Literal["inception", "classifier"]


class FrechetDistance:
    """FID: Fréchet distance between Gaussians fitted to real and generated features."""

    higher_is_better = False
    requires: tuple[str, ...] = ()

    def __init__(self, extractor: str, weights: str, per_class: bool = False) -> None:
        self.extractor, self.weights, self.per_class = extractor, weights or None, per_class
        self.protocol = {"extractor": extractor, **({"per_class": True} if per_class else {})}
        if per_class:  # each class's reals against the images generated for it
            self.requires, self.needs_labels = (LABEL,), True

    def compute(self, ctx: gankit.EvalContext) -> float:
        real = ctx.features(self.extractor, "real", weights=self.weights)
        fake = ctx.features(self.extractor, "fake", weights=self.weights)
        if self.per_class:
            return per_class_frechet(real, fake, np.asarray(ctx.labels))
        return frechet_distance(*feature_statistics(real), *feature_statistics(fake))


class KernelDistance:
    """KID: unbiased MMD² with a cubic polynomial kernel on the same features as FID."""

    higher_is_better = False
    requires: tuple[str, ...] = ()

    def __init__(self, extractor: str, weights: str, subsets: int, subset_size: int) -> None:
        self.extractor, self.weights = extractor, weights or None
        self.subsets, self.subset_size = subsets, subset_size
        self.protocol = {"extractor": extractor}

    def compute(self, ctx: gankit.EvalContext) -> dict[str, float]:
        real = ctx.features(self.extractor, "real", weights=self.weights)
        fake = ctx.features(self.extractor, "fake", weights=self.weights)
        mean, std = kernel_distance(
            real, fake, subsets=self.subsets, subset_size=self.subset_size, seed=ctx.seed
        )
        return {"value": mean, "std": std}


class ClassifierScore:
    """exp(E KL(p(y|x) || p(y))) on the dataset classifier: confident and diverse.

    ``reference`` is the score of the real images of the same sample.
    """

    higher_is_better = True
    requires: tuple[str, ...] = ()
    protocol = {"extractor": "classifier"}

    def compute(self, ctx: gankit.EvalContext) -> dict[str, float]:
        classifier = ctx.classifier()
        return {
            "value": classifier_score(classifier.probabilities(ctx.fake)),
            "reference": classifier_score(classifier.probabilities(ctx.real)),
        }


class ContentAccuracy:
    """Fraction of outputs the dataset classifier assigns to their content's label.

    ``reference`` is the classifier's accuracy on the real images of the same
    examples: the ceiling this classifier allows.
    """

    higher_is_better = True
    requires = ("content",)
    needs_labels = True
    protocol = {"extractor": "classifier"}

    def compute(self, ctx: gankit.EvalContext) -> dict[str, float]:
        classifier = ctx.classifier()
        labels = np.asarray(ctx.labels)
        return {
            "value": float(np.mean(classifier.probabilities(ctx.fake).argmax(axis=1) == labels)),
            "reference": float(
                np.mean(classifier.probabilities(ctx.real).argmax(axis=1) == labels)
            ),
        }


class ClassAccuracy:
    """Fraction of images generated for class c that the dataset classifier reads as c.

    The classifier is trained on the real labelled images (``classifier`` features);
    ``reference`` is its accuracy on the real images of the same examples (the ceiling it
    allows), ``worst`` the accuracy of the worst-read class.
    """

    higher_is_better = True
    requires = (LABEL,)
    needs_labels = True
    protocol = {"extractor": "classifier"}

    def compute(self, ctx: gankit.EvalContext) -> dict[str, float]:
        classifier = ctx.classifier()
        labels = np.asarray(ctx.labels)
        read = classifier.probabilities(ctx.fake).argmax(axis=1) == labels
        per_class = [float(read[labels == c].mean()) for c in np.unique(labels)]
        return {
            "value": float(read.mean()),
            "reference": float(
                np.mean(classifier.probabilities(ctx.real).argmax(axis=1) == labels)
            ),
            "worst": min(per_class),
        }


def per_class_frechet(real: np.ndarray, fake: np.ndarray, labels: np.ndarray) -> float:
    """The mean over classes of the Fréchet distance between the real and the generated
    features of each class (images generated for that class)."""
    values = [
        frechet_distance(
            *feature_statistics(real[labels == c]), *feature_statistics(fake[labels == c])
        )
        for c in np.unique(labels)
    ]
    return float(np.mean(values))


class StyleDistance:
    """Mean distance between channel mean/std statistics of output and style image.

    Statistics of the classifier's first-block feature maps (AdaIN's style loss). The
    same distance between each real target and its style image is reported as
    ``reference``: what a perfect renderer of this dataset scores.
    """

    higher_is_better = False
    requires = ("style",)
    protocol = {"extractor": "classifier", "layer": "style"}

    def compute(self, ctx: gankit.EvalContext) -> dict[str, float]:
        classifier = ctx.classifier()
        style = classifier.style_maps(_three_channels_like(ctx.conditions["style"], ctx.fake))
        fake = classifier.style_maps(ctx.fake)
        real = classifier.style_maps(ctx.real)
        return {
            "value": float(channel_statistics_distance(fake, style).mean()),
            "reference": float(channel_statistics_distance(real, style).mean()),
        }


class GroundTruthFidelity:
    """PSNR (dB) and L1 of each output to the real image of the same example, on a
    paired dataset (``paired = True``: an example's ``image`` is the ground-truth
    rendering of its conditions, as mnist-cifar's ``|style - digit|``).

    Pixel fidelity tells apart two generators whose outputs a classifier reads equally
    well and whose feature statistics match; it rewards the conditional mean, so it
    cannot tell a sharp plausible output from a right one, nor see diversity.
    """

    higher_is_better = True
    requires: tuple[str, ...] = ()
    needs_pairs = True

    def compute(self, ctx: gankit.EvalContext) -> dict[str, float]:
        scores = pixel_fidelity(ctx.fake, ctx.real)
        return {"value": scores["psnr"], "l1": scores["l1"]}


def _three_channels_like(images: np.ndarray, like: np.ndarray) -> np.ndarray:
    if images.shape[-1] == like.shape[-1]:
        return images
    return np.repeat(images, like.shape[-1] // images.shape[-1], axis=-1)


def build_fid(
    *, extractor: Extractor = "inception", weights: str = "", per_class: bool = False
) -> FrechetDistance:
    """Fréchet distance of features (FID with inception; lower is better).

    ``per_class=True`` (a run conditioned on the label): the mean over classes of the
    distance between each class's real images and the images generated for it."""
    return FrechetDistance(extractor, weights, per_class)


def build_kid(
    *,
    extractor: Extractor = "inception",
    weights: str = "",
    subsets: int = 100,
    subset_size: int = 1000,
) -> KernelDistance:
    """Kernel distance of features, unbiased (KID with inception; lower is better)."""
    if subsets < 1 or subset_size < 2:
        raise ValueError("subsets must be at least 1 and subset_size at least 2")
    return KernelDistance(extractor, weights, subsets, subset_size)


def build_classifier_score() -> ClassifierScore:
    """Inception-score analogue on the dataset classifier (higher is better)."""
    return ClassifierScore()


def build_content_accuracy() -> ContentAccuracy:
    """Outputs classified as their content's label (conditional runs; higher is better)."""
    return ContentAccuracy()


def build_class_accuracy() -> ClassAccuracy:
    """Images generated for a class read as that class (label-conditional runs; higher is
    better)."""
    return ClassAccuracy()


def build_style_distance() -> StyleDistance:
    """Channel-statistics distance from output to style image (lower is better)."""
    return StyleDistance()


def build_psnr() -> GroundTruthFidelity:
    """PSNR to the ground truth, with L1, on paired datasets (dB; higher is better)."""
    return GroundTruthFidelity()


@gankit.hookimpl
def register_metrics(register: Any) -> None:
    register("fid", build_fid)
    register("kid", build_kid)
    register("classifier-score", build_classifier_score)
    register("content-accuracy", build_content_accuracy)
    register("class-accuracy", build_class_accuracy)
    register("style-distance", build_style_distance)
    register("psnr", build_psnr)
