from climasense.cli import main

main()
