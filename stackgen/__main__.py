from stackgen.cli import main

main()
