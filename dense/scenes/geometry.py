"""Analytic ray-primitive intersection and surface normals for the embedded scenes.

World frame: X right, Y up (the ground is the plane Y = 0), Z away from the camera. Every primitive stands on the
ground; intersections take ray origins ``o`` (3,) or (P, 3) and directions ``d`` (P, 3), not necessarily unit,
and return the ray parameter ``t`` (P,) of the first hit with ``t > EPS`` (``inf`` on a miss). Normals are
computed from the hit point, so one intersection routine serves camera rays and shadow rays alike.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-6


def _first_root(a: np.ndarray, b: np.ndarray, c: np.ndarray, valid) -> np.ndarray:
    """Smallest root ``t > EPS`` of ``a t^2 + b t + c = 0`` for which ``valid(t)`` holds, else ``inf``."""
    disc = b * b - 4 * a * c
    hit = disc >= 0
    sq = np.sqrt(np.where(hit, disc, 0.0))
    a_safe = np.where(np.abs(a) < 1e-12, 1e-12, a)
    best = np.full(a.shape, np.inf)
    for root in ((-b - sq) / (2 * a_safe), (-b + sq) / (2 * a_safe)):
        ok = hit & (root > EPS) & valid(root)
        best = np.where(ok & (root < best), root, best)
    return best


def _yaw_to_local(v: np.ndarray, yaw: float) -> np.ndarray:
    """Rotate world vectors (..., 3) about Y by ``-yaw`` into an object's local frame."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([c * v[..., 0] + s * v[..., 2], v[..., 1], -s * v[..., 0] + c * v[..., 2]], axis=-1)


def _yaw_to_world(v: np.ndarray, yaw: float) -> np.ndarray:
    """Inverse of :func:`_yaw_to_local`."""
    return _yaw_to_local(v, -yaw)


@dataclass(frozen=True)
class Sphere:
    """Sphere of radius ``r`` resting on the ground at (x, z)."""
    x: float
    z: float
    r: float

    @property
    def center(self) -> np.ndarray:
        return np.array([self.x, self.r, self.z])

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        oc = o - self.center
        return _first_root((d * d).sum(-1), 2 * (oc * d).sum(-1), (oc * oc).sum(-1) - self.r ** 2,
                           lambda t: True)

    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, self.r

    def normal(self, p: np.ndarray) -> np.ndarray:
        return (p - self.center) / self.r


@dataclass(frozen=True)
class Box:
    """Box with half-extents (ex, hy, ez), rotated by ``yaw`` about the vertical, resting on the ground."""
    x: float
    z: float
    ex: float
    hy: float
    ez: float
    yaw: float

    @property
    def center(self) -> np.ndarray:
        return np.array([self.x, self.hy, self.z])

    @property
    def half(self) -> np.ndarray:
        return np.array([self.ex, self.hy, self.ez])

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        lo, ld = _yaw_to_local(o - self.center, self.yaw), _yaw_to_local(d, self.yaw)
        ld = np.where(np.abs(ld) < 1e-12, 1e-12, ld)
        t1, t2 = (-self.half - lo) / ld, (self.half - lo) / ld
        tmin, tmax = np.minimum(t1, t2).max(-1), np.maximum(t1, t2).min(-1)
        t = np.where(tmin > EPS, tmin, tmax)
        return np.where((tmax >= tmin) & (t > EPS), t, np.inf)

    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, float(np.linalg.norm(self.half))

    def normal(self, p: np.ndarray) -> np.ndarray:
        lp = _yaw_to_local(p - self.center, self.yaw)
        axis = np.abs(lp / self.half).argmax(-1)
        n = np.zeros_like(lp)
        rows = np.arange(len(lp))
        n[rows, axis] = np.sign(lp[rows, axis])
        return _yaw_to_world(n, self.yaw)


@dataclass(frozen=True)
class Cylinder:
    """Upright cylinder of radius ``r`` and height ``h`` standing on the ground at (x, z)."""
    x: float
    z: float
    r: float
    h: float

    @property
    def center(self) -> np.ndarray:
        return np.array([self.x, self.h / 2, self.z])

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        o = np.broadcast_to(o, d.shape)
        ox, oy, oz = o[..., 0] - self.x, o[..., 1], o[..., 2] - self.z
        dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
        side = _first_root(dx * dx + dz * dz, 2 * (ox * dx + oz * dz), ox * ox + oz * oz - self.r ** 2,
                           lambda t: (oy + t * dy >= 0) & (oy + t * dy <= self.h))
        with np.errstate(divide='ignore', invalid='ignore'):
            tc = (self.h - oy) / dy
        inside = (ox + tc * dx) ** 2 + (oz + tc * dz) ** 2 <= self.r ** 2
        cap = np.where((tc > EPS) & inside, tc, np.inf)
        return np.minimum(side, cap)

    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, float(np.hypot(self.r, self.h / 2))

    def normal(self, p: np.ndarray) -> np.ndarray:
        radial = np.stack([p[:, 0] - self.x, np.zeros(len(p)), p[:, 2] - self.z], -1) / self.r
        top = np.abs(p[:, 1] - self.h) < 1e-6 * max(1.0, self.h)
        return np.where(top[:, None], np.array([0.0, 1.0, 0.0]), radial)


@dataclass(frozen=True)
class Cone:
    """Upright cone with base radius ``r`` on the ground at (x, z) and apex at height ``h``."""
    x: float
    z: float
    r: float
    h: float

    @property
    def center(self) -> np.ndarray:
        return np.array([self.x, self.h / 3, self.z])

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        o = np.broadcast_to(o, d.shape)
        ox, ow, oz = o[..., 0] - self.x, self.h - o[..., 1], o[..., 2] - self.z
        dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
        k2 = (self.r / self.h) ** 2
        a = dx * dx + dz * dz - k2 * dy * dy
        b = 2 * (ox * dx + oz * dz + k2 * ow * dy)
        c = ox * ox + oz * oz - k2 * ow * ow
        return _first_root(a, b, c, lambda t: (ow - t * dy >= 0) & (ow - t * dy <= self.h))

    def bound(self) -> tuple[np.ndarray, float]:
        return np.array([self.x, self.h / 2, self.z]), float(np.hypot(self.r, self.h / 2))

    def normal(self, p: np.ndarray) -> np.ndarray:
        k2 = (self.r / self.h) ** 2
        g = np.stack([p[:, 0] - self.x, k2 * (self.h - p[:, 1]), p[:, 2] - self.z], -1)
        return g / np.maximum(np.linalg.norm(g, axis=-1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Capsule:
    """Capsule lying on the ground: radius ``r``, axis half-length ``half_len`` along local x, turned by ``yaw``."""
    x: float
    z: float
    r: float
    half_len: float
    yaw: float

    @property
    def center(self) -> np.ndarray:
        return np.array([self.x, self.r, self.z])

    def _ends(self) -> tuple[np.ndarray, np.ndarray]:
        axis = _yaw_to_world(np.array([self.half_len, 0.0, 0.0]), self.yaw)
        return self.center - axis, self.center + axis

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        lo = np.broadcast_to(_yaw_to_local(o - self.center, self.yaw), d.shape)
        ld = _yaw_to_local(d, self.yaw)
        oy, oz, dy, dz = lo[..., 1], lo[..., 2], ld[..., 1], ld[..., 2]
        body = _first_root(dy * dy + dz * dz, 2 * (oy * dy + oz * dz), oy * oy + oz * oz - self.r ** 2,
                           lambda t: np.abs(lo[..., 0] + t * ld[..., 0]) <= self.half_len)
        t = body
        for end in self._ends():
            oc = o - end
            t = np.minimum(t, _first_root((d * d).sum(-1), 2 * (oc * d).sum(-1), (oc * oc).sum(-1) - self.r ** 2,
                                          lambda s: True))
        return t

    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, self.half_len + self.r

    def normal(self, p: np.ndarray) -> np.ndarray:
        lp = _yaw_to_local(p - self.center, self.yaw)
        lp[:, 0] -= np.clip(lp[:, 0], -self.half_len, self.half_len)
        return _yaw_to_world(lp / self.r, self.yaw)


PRIMITIVES = {'sphere': Sphere, 'box': Box, 'cylinder': Cylinder, 'cone': Cone, 'capsule': Capsule}


def may_hit(bound: tuple[np.ndarray, float], o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Rays (P,) that meet the bounding sphere ahead of their origin: a cheap superset of the real hits."""
    center, radius = bound
    oc = center - o
    dd = (d * d).sum(-1)
    along = (oc * d).sum(-1)
    dist2 = (oc * oc).sum(-1) - along * along / dd
    return (dist2 <= radius * radius * 1.0001) & ((along > 0) | ((oc * oc).sum(-1) <= radius * radius))
