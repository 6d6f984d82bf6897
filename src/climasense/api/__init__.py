"""The API edge: the dispatcher (`app`), the device router and its route table, the operator
routers. Domains declare their routes (`<domain>/device_routes.py`, `operator_routes.py`);
only this package assembles them."""
