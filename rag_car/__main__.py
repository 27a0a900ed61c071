from rag_car.cli.main import run

run()
