"""What runs on CUDA, checked on CPU where the maths allows: bf16 autocast vs float32 for the encoder, every head
and every task loss; ``torch.compile`` of the frozen encoder; no host-device sync in a training step."""
import traceback

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from dense.encoders import build_encoder
from probes.heads import HEADS
from probes.tasks import build_task
from probes.train import ProbeModel, expand_grid

DENSE_HEADS = [h for h in ('linear', 'bn_linear', 'dpt') if h in HEADS]  # the heads the dense tasks build
BF16_RTOL = 2e-2  # relative L2 error allowed for bf16 autocast (8-bit mantissa: ~4e-3 per rounding)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12))


def _batch(n=2, size=32):
    torch.manual_seed(0)
    normals = torch.nn.functional.normalize(torch.randn(n, 3, size, size), dim=1)
    return dict(image=torch.rand(n, 3, size, size), seg=torch.randint(0, 6, (n, size, size)),
                depth=torch.rand(n, size, size) * 5 + 0.5, normals=normals)


@pytest.mark.parametrize('variant', ['test', 'tiny'])
def test_encoder_bf16_autocast_matches_float32(variant):
    enc = build_encoder(variant)
    x = enc.normalize(_batch(2, 2 * enc.patch_size * 2)['image'])
    with torch.no_grad():
        ref = enc(x, layers=enc.default_layers)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = enc(x, layers=enc.default_layers)
    for i in enc.default_layers:
        assert _rel(low.layers[i], ref.layers[i]) < BF16_RTOL, i
    assert _rel(low.pooled, ref.pooled) < BF16_RTOL


@pytest.mark.parametrize('head', DENSE_HEADS)
def test_heads_and_losses_bf16_autocast_match_float32(head):
    """Each dense head kind of each dense task under bf16 autocast: outputs and losses within BF16_RTOL of float32."""
    torch.manual_seed(0)
    feats = [torch.randn(2, 16, 4, 4) for _ in range(4)]
    batch = _batch()
    tasks = {'seg': build_task('seg', num_classes=6), 'depth': build_task('depth', max_depth=10.0),
             'normals': build_task('normals', uncertainty=True)}
    opts = dict(hidden_dim=16, reassemble_dims=(8, 8, 16, 16)) if head == 'dpt' else {}
    for name, task in tasks.items():
        module = task.build_head(head, [16] * 4, 0, **opts).eval()
        with torch.no_grad():
            ref_out = module(feats)
            ref_loss = task.loss(ref_out, batch)
            with torch.autocast('cpu', dtype=torch.bfloat16):
                out = module(feats)
                loss = task.loss(out, batch)
        assert _rel(out, ref_out) < BF16_RTOL, name
        assert abs(float(loss) - float(ref_loss)) < BF16_RTOL * max(1.0, abs(float(ref_loss))), name


def test_compiled_encoder_gives_the_same_output():
    """``cfg.compile`` calls ``encoder.compile(**options)``; on CPU the dynamo graph (fullgraph: no breaks) is run
    with the 'eager' backend (inductor's C++ build takes minutes on this CPU; benchmarks/gpu_check.py runs it on
    CUDA)."""
    enc, ref_enc = build_encoder('test'), build_encoder('test')
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    try:
        enc.compile(backend='eager', fullgraph=True)
        with torch.no_grad():
            out = enc(x, layers=enc.default_layers)
    except Exception as err:  # noqa: BLE001 - a torch build without dynamo support
        pytest.skip(f'torch.compile does not work here: {type(err).__name__}: {err}')
    with torch.no_grad():
        ref = ref_enc(x, layers=enc.default_layers)
    for i in enc.default_layers:
        torch.testing.assert_close(out.layers[i], ref.layers[i], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.pooled, ref.pooled, rtol=1e-5, atol=1e-6)


class _SyncCounter:
    """Records calls of the tensor methods that copy a value to the host (a device sync on CUDA)."""

    NAMES = ('item', 'tolist', 'cpu', 'numpy', '__float__', '__int__', '__bool__')

    def __init__(self, monkeypatch):
        self.calls = []
        for name in self.NAMES:
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._wrap(name, original))

    def _wrap(self, name, original):
        def counted(tensor, *args, **kwargs):
            frame = traceback.extract_stack()[-2]
            # on the host also when training on CUDA: torch.optim's step counters and the pixel-range check of
            # the loader's batch before its copy (BatchPreprocessor -> check_pixels)
            if '/torch/optim/' not in frame.filename and frame.name != 'check_pixels':
                self.calls.append(f'{name} {frame.filename}:{frame.lineno}')
            return original(tensor, *args, **kwargs)
        return counted


def _joint_model() -> ProbeModel:
    """Linear and DPT probes for seg, depth and normals on the 'test' encoder, one forward per batch."""
    enc = build_encoder('test')
    tasks = {'seg': build_task('seg', num_classes=6), 'depth': build_task('depth', max_depth=10.0),
             'normals': build_task('normals', uncertainty=True)}
    specs = [s for task in tasks for s in expand_grid(
        dict(task=task, heads=['linear', 'dpt'], layers=['default'], lrs=[1e-3],
             head_opts=dict(dpt=dict(hidden_dim=16, reassemble_dims=(8, 8, 16, 16)))), enc.depth, enc.default_layers)]
    return ProbeModel(enc, tasks, specs)


def test_training_step_has_no_host_device_sync(monkeypatch):
    """A whole ``train_step`` (data preprocessor, one encoder forward, seg + depth + normals losses, backward,
    AdamW) between two logging iterations reads no tensor value on the host (on CPU only the python-level reads
    can be seen; benchmarks/gpu_check.py runs steps under ``torch.cuda.set_sync_debug_mode('error')``)."""
    model = _joint_model()
    model.log_interval = 10
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    hub = MessageHub.get_instance('sync-test')
    batch = _batch()
    hub.update_info('iter', 0)
    assert set(model.train_step(batch, optim)) >= {'loss'}  # first iteration: logged
    counter = _SyncCounter(monkeypatch)
    hub.update_info('iter', 4)
    assert model.train_step(batch, optim) == {}
    assert counter.calls == [], f'host reads in the training step: {counter.calls}'


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')


@pytest.mark.cuda
@needs_cuda
def test_cuda_encoder_bf16_matches_cpu_float32():
    enc = build_encoder('tiny')
    x = enc.normalize(_batch(2, 224)['image'])
    with torch.no_grad():
        ref = enc(x, layers=enc.default_layers)
        enc.cuda()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            low = enc(x.cuda(), layers=enc.default_layers)
    for i in enc.default_layers:
        assert _rel(low.layers[i].cpu(), ref.layers[i]) < BF16_RTOL, i
    assert _rel(low.pooled.cpu(), ref.pooled) < BF16_RTOL


@pytest.mark.cuda
@needs_cuda
def test_cuda_inductor_compiled_encoder_matches_eager():
    enc, ref = build_encoder('tiny').cuda(), build_encoder('tiny').cuda()
    enc.compile()
    x = torch.rand(2, 3, 224, 224, device='cuda') * 2 - 1
    with torch.no_grad():
        out, expected = enc(x, layers=enc.default_layers), ref(x, layers=enc.default_layers)
    for i in enc.default_layers:  # inductor may reorder float32 reductions
        assert _rel(out.layers[i], expected.layers[i]) < 1e-4, i


@pytest.mark.cuda
@needs_cuda
def test_cuda_training_step_never_syncs():
    """``torch.cuda.set_sync_debug_mode('error')`` raises on any host-device sync inside the step."""
    model = _joint_model().cuda()
    model.log_interval = 10
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    hub = MessageHub.get_instance('cuda-sync-test')
    batch = {k: v.pin_memory() for k, v in _batch().items()}
    hub.update_info('iter', 0)
    model.train_step(batch, optim)  # first step: logged, allocator warm
    hub.update_info('iter', 4)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        assert model.train_step(batch, optim) == {}
    finally:
        torch.cuda.set_sync_debug_mode('default')
