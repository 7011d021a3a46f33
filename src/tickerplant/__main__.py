from tickerplant.cli import main

main()
