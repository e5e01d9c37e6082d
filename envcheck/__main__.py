from envcheck.cli.entry import main

main()
