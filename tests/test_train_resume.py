"""A SIGKILLed smoke run resumes from its last checkpoint to the same final metrics as an uninterrupted run."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import torch
from mmengine.hooks import Hook
from safetensors.torch import load_file

from probes.train import as_config, run_training

SMOKE = 'configs/seg/scenes_linear_dpt_test64_smoke.py'
ROOT = Path(__file__).resolve().parents[1]

# Trains the smoke config and SIGKILLs itself right after iteration 3 (the checkpoint of iteration 2 is on disk).
KILLED_RUN = """
import os, signal, sys
import torch
torch.set_num_threads(1)
from mmengine.hooks import Hook
from probes.train import as_config, run_training

class KillAfter(Hook):
    priority = 'LOWEST'
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == 3:  # mmengine counts the finished iteration after this hook
            os.kill(os.getpid(), signal.SIGKILL)

cfg = as_config(sys.argv[1])
cfg.work_dir = sys.argv[2]
run_training(cfg, hooks=[KillAfter()])
"""


class CountIters(Hook):
    def __init__(self):
        self.iters = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters.append(runner.iter)


def _cfg(work_dir):
    cfg = as_config(SMOKE)
    cfg.work_dir = str(work_dir)
    return cfg


def test_sigkilled_run_resumes_to_the_same_metrics(tmp_path):
    killed_dir, clean_dir = tmp_path / 'killed', tmp_path / 'clean'
    script = tmp_path / 'killed_run.py'
    script.write_text(KILLED_RUN)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(script), SMOKE, str(killed_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (killed_dir / 'iter_2.pth').is_file() and not (killed_dir / 'iter_4.pth').exists()
    assert not (killed_dir / 'metrics.json').exists()
    # the checkpoint loads with torch's weights_only safety on, no allow-list
    torch.load(killed_dir / 'iter_2.pth', weights_only=True)

    counter = CountIters()
    resumed = run_training(_cfg(killed_dir), resume=True, hooks=[counter])
    assert counter.iters == [2, 3, 4, 5]  # resumed after iteration 2 of 6 (not retrained from scratch)
    clean = run_training(_cfg(clean_dir))
    for split in ('val', 'test'):
        a, b = resumed['metrics'][split], clean['metrics'][split]
        assert a.keys() == b.keys()
        for key in a:
            assert (a[key] != a[key] and b[key] != b[key]) or abs(a[key] - b[key]) < 1e-6, key
    wa, wb = load_file(str(killed_dir / 'probes.safetensors')), load_file(str(clean_dir / 'probes.safetensors'))
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 1e-6
    log = json.loads((killed_dir / 'metrics.json').read_text())
    assert log['config_hash'] != '' and log['best'] == json.loads((clean_dir / 'metrics.json').read_text())['best']
