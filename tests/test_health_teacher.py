"""A distillation teacher trained by mistake (the optimizer built over its parameters with
the student's, its outputs computed outside `torch.no_grad()`) is told from the KL
divergence's graph, and repair puts it back and freezes it; a teacher under no_grad, one in
the optimizer but detached, and a KL between two passes of the same model (R-Drop) are not
told. A KL given the student's probabilities, not its log-probabilities, is
probabilities_as_logits, beside the cross entropy too."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell


def _mlp(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 4))


def _cnn(width: int) -> nn.Module:
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, width // 8, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(width // 8 * 64, 4),
    )  # fmt: skip


ARCHS = {"mlp": _mlp, "cnn": _cnn}


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1024, 64, generator=g)
    return X, (X[:, :16].mean(1) > 0).long() + 2 * (X[:, 16:32].mean(1) > 0)


def _teacher(arch: str) -> nn.Module:
    X, y = _data()
    torch.manual_seed(1)
    teacher = ARCHS[arch](128)
    optimizer = torch.optim.Adam(teacher.parameters(), 3e-3)
    for _ in range(60):
        optimizer.zero_grad()
        F.cross_entropy(teacher(X), y).backward()
        optimizer.step()
    return teacher


def _distil(arch: str, how: str, mode: str = "detect") -> tuple[trainwell.Doctor, nn.Module, float]:
    """A student distilled at temperature 4 (KL beside a cross entropy), Adam at 3e-2;
    `how`: "trained" (the bug), "no_grad", "detached" (the optimizer holds the teacher,
    whose outputs are detached), "r_drop" (no teacher: a KL between two dropout passes
    of the student) or "probabilities" (under no_grad, the KL given the student's softmax:
    stress 30). Returns the doctor, the teacher and the student's accuracy."""
    X, y = _data()
    teacher = _teacher(arch)
    torch.manual_seed(0)
    student = nn.Sequential(nn.Dropout(0.1), ARCHS[arch](32))
    params = [*student.parameters()]
    if how in ("trained", "detached"):
        params += [*teacher.parameters()]
    optimizer = torch.optim.Adam(params, 3e-2)
    doctor = trainwell.Doctor(student, optimizer, mode=mode)
    for _ in range(4):
        for i in range(0, 1024, 64):
            x = X[i : i + 64]
            scores = student(x)
            if how == "r_drop":
                target = student(x)  # a second dropout pass, its gradient kept
            elif how in ("no_grad", "probabilities"):
                with torch.no_grad():
                    target = teacher(x)
            else:
                target = teacher(x).detach() if how == "detached" else teacher(x)
            inputs = (F.softmax if how == "probabilities" else F.log_softmax)(scores / 4, 1)
            kl = F.kl_div(inputs, F.softmax(target / 4, 1), reduction="batchmean")
            loss = 0.7 * 16 * kl + 0.3 * F.cross_entropy(scores, y[i : i + 64])
            optimizer.zero_grad()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end(loss.item())
    student.eval()
    with torch.no_grad():
        return doctor, teacher, float((student(X).argmax(1) == y).float().mean())


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "teacher_trained"]


@pytest.mark.parametrize("arch", list(ARCHS))
def test_a_teacher_the_optimizer_trains_is_told_at_the_first_look(arch):
    (found,) = _told(_distil(arch, "trained")[0])
    assert found.severity == "error" and found.step == 0
    assert len(found.evidence["tensors"]) == len(list(_teacher(arch).parameters()))


@pytest.mark.parametrize("arch", list(ARCHS))
def test_repair_puts_the_teacher_back_and_freezes_it(arch):
    before = copy.deepcopy(_teacher(arch).state_dict())
    doctor, teacher, _ = _distil(arch, "trained", mode="repair")
    (repair,) = [r for r in doctor.repairs if r["finding"] == "teacher_trained"]
    assert repair["remedy"] == "freeze_teacher"
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in before.items())
    assert not any(p.requires_grad for p in teacher.parameters())


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("how", ["no_grad", "detached", "r_drop"])
def test_a_teacher_kept_out_of_the_gradient_or_the_students_own_targets_are_not(arch, how):
    assert _told(_distil(arch, how)[0]) == []


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("how", ["probabilities", "no_grad"])
def test_a_kl_given_the_students_probabilities_is_told_beside_the_cross_entropy(arch, how):
    doctor = _distil(arch, how)[0]
    told = [f for f in doctor.findings if f.code == "probabilities_as_logits"]
    assert [(f.severity, f.step) for f in told] == (
        [("error", 0)] if how == "probabilities" else []
    )
    assert all("(kl_div) <- MulBackward0 <- SoftmaxBackward0" in f.message for f in told)
