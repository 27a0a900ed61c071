"""Question + passages + live snapshot -> grounded, cited Answer.

sources (numbered documents, live lines) -> selection (ranked sentences) -> answerability -> prompt ->
backends (extractive, llamacpp, ollama, openai) -> grounding (each sentence checked) -> layout -> Answer.
The entry point is rag_car.answer.assistant.Assistant.
"""
