from envcheck.cli.app import main

main()
