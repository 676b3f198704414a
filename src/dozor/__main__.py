"""`python -m dozor` runs the same command line as `dozor`."""

from dozor.cli import main

if __name__ == "__main__":
    main()
