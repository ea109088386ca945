"""Domain primitives shared by the API, the dispatcher and the receiver library.

Nothing in here touches the network or the database, so the sender and the
verifier can use exactly the same code.
"""
