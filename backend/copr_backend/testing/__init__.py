"""What the backend's tests share: helpers to drive real dispatchers and check results
(:mod:`.helpers`), and a builder pool without a sandbox for the build worker's own tests
(:mod:`.pool`).
"""
