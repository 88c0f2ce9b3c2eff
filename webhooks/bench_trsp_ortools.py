"""OR-Tools routing as a peer solver for the TRSP benchmark (same instances, our checker).

The model: technicians are vehicles from and to their homes; time is a dimension (travel +
service, waiting as slack, arrival windows) whose span per vehicle is the cost, i.e. the
working time. Skills restrict each request's vehicles. The depot is one optional copy per
vehicle: a `restocked` dimension turns 1 after it, and a request needing a tool the vehicle
lacks must be reached with restocked = 1. Each spare-part type is a load dimension that starts
at a large offset M, rises by the demand, may not exceed M + stock, and drops by M at the depot
(so after it the stock no longer binds). Times are scaled ×100 and travel is rounded up, so
an OR-Tools schedule is feasible in real numbers too.
"""

from __future__ import annotations

import math
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from dispatch.engine.trsp import Instance

SCALE = 100
BIG = 10**6
DROP = 10**9


def solve_ortools(inst: Instance, seconds: float) -> tuple[dict[int, list[int]], list[int]]:
    """Routes (technician id -> stops, 0 = depot) and the requests it left unserved."""
    nodes = inst.nodes
    k = inst.n_technicians
    reqs = [n for n in nodes[k + 1 :]]
    # model nodes: homes 0..k-1, requests k..k+n-1, depot copies k+n..2k+n-1
    places = list(nodes[1 : k + 1]) + reqs + [nodes[0]] * k
    n_req = len(reqs)
    first_depot = k + n_req
    manager = pywrapcp.RoutingIndexManager(len(places), k, list(range(k)), list(range(k)))
    routing = pywrapcp.RoutingModel(manager)
    service = [0.0] * k + [r.service for r in reqs] + [0.0] * k

    def dist(a: int, b: int) -> float:
        pa, pb = places[a], places[b]
        return math.hypot(pa.x - pb.x, pa.y - pb.y)

    transit = [
        [math.ceil((service[a] + dist(a, b)) * SCALE - 1e-9) for b in range(len(places))]
        for a in range(len(places))
    ]

    def time_cb(i: int, j: int) -> int:
        return transit[int(manager.IndexToNode(i))][int(manager.IndexToNode(j))]

    horizon = int(max(n.twe for n in nodes) * SCALE) + 1
    tcb = routing.RegisterTransitCallback(time_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(tcb)
    routing.AddDimension(tcb, horizon, horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    time.SetSpanCostCoefficientForAllVehicles(1000)
    for node in range(k, len(places)):
        src = places[node]
        idx = manager.NodeToIndex(node)
        time.CumulVar(idx).SetRange(math.ceil(src.tws * SCALE), int(src.twe * SCALE))
        routing.AddDisjunction([idx], 0 if node >= first_depot else DROP)
    for v in range(k):
        home = nodes[v + 1]
        for idx in (routing.Start(v), routing.End(v)):
            time.CumulVar(idx).SetRange(int(home.tws * SCALE), int(home.twe * SCALE))
        routing.AddVariableMaximizedByFinalizer(time.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))
        routing.VehicleVar(manager.NodeToIndex(first_depot + v)).SetValues([-1, v])

    def restock_cb(i: int) -> int:
        return 1 if manager.IndexToNode(i) >= first_depot else 0

    rcb = routing.RegisterUnaryTransitCallback(restock_cb)
    routing.AddDimension(rcb, 0, 1, True, "restocked")
    restocked = routing.GetDimensionOrDie("restocked")
    solver = routing.solver()
    for r_i, req in enumerate(reqs):
        idx = manager.NodeToIndex(k + r_i)
        allowed = [v for v in range(k) if req.skills <= nodes[v + 1].skills]
        routing.VehicleVar(idx).SetValues([-1, *allowed])
        for v in allowed:
            if not req.tools <= nodes[v + 1].tools:
                solver.Add(
                    restocked.CumulVar(idx) >= solver.IsEqualCstVar(routing.VehicleVar(idx), v)
                )
    for part in range(len(reqs[0].parts) if reqs else 0):
        demand = [0] * k + [r.parts[part] for r in reqs] + [-BIG] * k

        def part_cb(i: int, demand: list[int] = demand) -> int:
            return demand[int(manager.IndexToNode(i))]

        pcb = routing.RegisterUnaryTransitCallback(part_cb)
        caps = [BIG + nodes[v + 1].parts[part] for v in range(k)]
        routing.AddDimensionWithVehicleCapacity(pcb, 0, caps, False, f"part{part}")
        load = routing.GetDimensionOrDie(f"part{part}")
        for v in range(k):
            load.CumulVar(routing.Start(v)).SetValue(BIG)
    params: Any = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return {}, [r.id for r in reqs]
    routes: dict[int, list[int]] = {}
    served: set[int] = set()
    for v in range(k):
        idx = routing.Start(v)
        stops: list[int] = []
        idx = solution.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            stops.append(0 if node >= first_depot else reqs[node - k].id)
            idx = solution.Value(routing.NextVar(idx))
        if stops:
            routes[v + 1] = stops
            served.update(s for s in stops if s)
    return routes, [r.id for r in reqs if r.id not in served]
