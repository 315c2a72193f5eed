"""The wire: what crosses a socket, and the one way in.

- `messages`: every body either side may send (the schema);
- `codec`: bytes to an `Envelope` and back, one door, one exception type (`DecodeError`);
- `gate`: admission, where every frame from a peer is checked (decode, key, connection,
  session) before a core sees it;
- `guard`: the replay window and session binding the gate keeps per peer;
- `routing`: the frame naming a connection's recipients (agent hosts);
- `admin`: the admin socket's JSON requests and replies.
"""
