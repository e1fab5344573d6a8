"""Engine: the rule contract, plugin discovery (pluggy), target resolution and the check run."""
