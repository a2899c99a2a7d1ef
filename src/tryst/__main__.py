from tryst.cli import main

main()
