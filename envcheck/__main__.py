from envcheck.cli.entry import main

# Guarded: a worker that multiprocessing starts by spawn (Windows, macOS; `envcheck data`'s
# DataLoader workers) imports this module again as __mp_main__, and must not run the CLI again.
if __name__ == "__main__":
    main()
