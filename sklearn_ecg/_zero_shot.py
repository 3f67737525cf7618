"""Zero-shot classification from text prompts: the class names, their prompts in the frozen
language model and in the shared ECG-text space (used by :class:`~sklearn_ecg.METSZeroShotClassifier`)."""

from __future__ import annotations

import numbers
import string
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted


def check_template(template: Any, name: str) -> str:
    fields = None
    if isinstance(template, str):
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
        except ValueError:
            fields = None
    if fields != [""]:
        raise ValueError(f"{name} must be a str with exactly one '{{}}' placeholder, got {template!r}.")
    return template


def as_texts(values: Any, name: str, n_ecgs: int) -> list[str]:
    """One text per ECG; integer or float labels (from generic scikit-learn code) become str."""
    if isinstance(values, str):
        raise ValueError(f"{name} must hold one text per ECG, got a single string {values[:50]!r}.")
    array = np.asarray(values, dtype=object)
    if array.ndim != 1 or len(array) != n_ecgs:
        raise ValueError(f"{name} must hold one text per ECG: expected shape ({n_ecgs},), "
                         f"got {array.shape}.")
    texts = []
    for i, value in enumerate(array):
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, numbers.Real) and np.isfinite(value):
            texts.append(str(value))
        else:
            raise ValueError(f"{name}[{i}] must be a text (str), got {value!r}.")
    return texts


def plain(value: Any) -> Any:
    """numpy scalars as Python scalars (JSON-able for ``save``)."""
    return value.item() if isinstance(value, np.generic) else value


class ZeroShotPromptsMixin:
    """Classes given by name (or description), embedded as prompts.

    The estimator provides ``classes``, ``class_template``, ``report_template``, the
    fitted ``net_`` (whose module has ``embed_text``), ``fit_labels_``,
    ``fit_labels_are_reports_`` and ``_text_encoder()`` (the frozen language model).
    """

    def _given_classes(self) -> tuple[list[Any], list[list[str]], str]:
        """(names, descriptions per name, template) in the order given, validated."""
        classes = self.classes
        if classes is None:
            check_is_fitted(self, "net_")
            if self.fit_labels_ is None:
                raise ValueError("No classes: pass classes=[...] (fit got reports but no labels).")
            template = self.report_template if self.fit_labels_are_reports_ else self.class_template
            return list(self.fit_labels_), [[str(v)] for v in self.fit_labels_], template
        if isinstance(classes, str):
            raise ValueError(f"classes must be a list of names or a dict, got the string {classes!r}.")
        if isinstance(classes, Mapping):
            names = list(classes)
            descriptions = [[d] if isinstance(d, str) else list(d) for d in classes.values()]
        else:
            names = [plain(c) for c in classes]
            descriptions = [[str(c)] for c in names]
        if not names:
            raise ValueError("classes must name at least one class, got none.")
        if len(set(names)) != len(names):
            raise ValueError(f"classes must be distinct, got {names!r}.")
        for name, texts in zip(names, descriptions):
            if not texts or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"The description of class {name!r} must be a str or a non-empty list "
                                 f"of str, got {texts!r}.")
        return names, descriptions, self.class_template

    @property
    def classes_(self) -> np.ndarray:
        if "net_" not in self.__dict__:
            raise AttributeError("classes_ is known after fit.")
        try:
            names, _, _ = self._given_classes()
        except ValueError as exc:  # hasattr(est, "classes_") must stay False, not raise
            raise AttributeError(str(exc)) from exc
        return np.asarray(sorted(names))

    def _prompt_embeddings(self, prompts: list[str]) -> np.ndarray:
        """Frozen-model embeddings of the prompts, cached on the estimator (so pickled with it)."""
        cache = self.__dict__.setdefault("_prompt_cache", {})
        missing = [p for p in dict.fromkeys(prompts) if p not in cache]
        if missing:
            for prompt, vector in zip(missing, self._text_encoder().encode(missing)):
                cache[prompt] = vector
        return np.stack([cache[p] for p in prompts])

    def class_embeddings(self) -> np.ndarray:
        """The class prompts in the shared space, (n_classes, projection_dim), rows in ``classes_`` order."""
        check_is_fitted(self, "net_")
        names, descriptions, template = self._given_classes()
        order = sorted(range(len(names)), key=lambda i: names[i])
        prompts = [[template.format(d) for d in descriptions[i]] for i in order]
        flat = [p for group in prompts for p in group]
        module = self.net_.module_
        module.eval()
        with torch.inference_mode():
            raw = torch.from_numpy(self._prompt_embeddings(flat)).to(self.net_.device)
            projected = module.embed_text(raw).cpu().numpy()
        rows, start = [], 0
        for group in prompts:  # average each class's prompts, as CLIP's prompt ensembles do
            mean = projected[start:start + len(group)].mean(axis=0)
            rows.append(mean / np.linalg.norm(mean))
            start += len(group)
        return np.stack(rows).astype(np.float32)
