"""Progress bars for training and evaluation (tqdm), as an mmengine hook."""
from __future__ import annotations

from mmengine.hooks import Hook
from tqdm import tqdm


class ProgressBarHook(Hook):
    """One tqdm bar over training iterations (starting at the resumed iteration) and one per evaluation."""

    priority = 'VERY_LOW'

    def __init__(self):
        self.bar = None

    def before_train(self, runner) -> None:
        self.bar = tqdm(total=runner.max_iters, initial=runner.iter, desc='train', unit='it', dynamic_ncols=True,
                        disable=None)  # None: no bar when not on a terminal (the log lines remain)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.bar.update(1)
        if outputs and 'loss' in outputs:
            self.bar.set_postfix(loss=f'{float(outputs["loss"].detach()):.4f}')

    def after_train(self, runner) -> None:
        self.bar.close()

    def _start(self, runner, loop, desc: str) -> None:
        self.eval_bar = tqdm(total=len(loop.dataloader), desc=desc, unit='batch', dynamic_ncols=True, leave=False,
                             disable=None)

    def before_val_epoch(self, runner) -> None:
        self._start(runner, runner.val_loop, 'val')

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_loop, 'test')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.eval_bar.update(1)

    after_test_iter = after_val_iter

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.eval_bar.close()

    after_test_epoch = after_val_epoch
