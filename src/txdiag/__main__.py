"""``python -m txdiag`` runs the command line."""

from txdiag.cli.app import main

if __name__ == "__main__":
    main()
