"""Placement: where meetings go, as a pipeline of pure steps.

    ledger    who is booked when (the coordinator's record; asserts against double-booking)
    judge     who can attend a candidate slot under the meeting's policies, and why not
    reasons   a reason for every meeting not placed, and `explain`'s candidate-by-candidate rows
    problem   the open meetings as data: each one's options (a slot, whom the rule would hold)
    repair    the greedy placement over the problem, with a repair pass
    solver    CP-SAT over the problem, started from and never below the repaired answer
    planner   the core's side of it: the walk's first fit, a problem built from the judges, a
              placement applied as walk orders and proposals, a meeting re-placed when a hold
              is refused

Nothing here reads a clock or touches a socket: the solver's budget is measured on a clock the
caller passes in, and the core asks for a solve as an action and takes the answer later.
"""
