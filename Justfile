# Same commands as ./x (which works without `just`).

# Run the tutorial scenario end to end (sets up the machine first).
demo *ARGS:
    ./x demo {{ARGS}}

# Run every test, scenarios included (sets up the machine first).
test *ARGS:
    ./x test {{ARGS}}

# Build, install and start prerequisites, provide images.
setup:
    ./x setup

# cargo fmt --check and clippy -D warnings.
lint:
    ./x lint
