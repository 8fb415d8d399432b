"""Pure numpy geometry shared by rendering, training, evaluation and the runtime."""
