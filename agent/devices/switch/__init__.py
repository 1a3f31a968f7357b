"""Switch drivers and the vocabulary they share with network/ (ports, VLAN roles,
desired and actual layouts)."""
