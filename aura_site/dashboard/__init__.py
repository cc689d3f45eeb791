"""The operator dashboard on the admin index: how Aura is doing, at one glance."""
