"""Scene pretraining of the reference encoders (SigLIP 2 recipe on the embedded scenes): data, towers, losses,
the training loop (``sprobe pretrain``) and shipping the result into ``dense/encoders/shipped``."""
