"""Follow-up questions -> standalone queries, without an LLM, and the LLM rewriter's fallback."""

from rag_car.knowledge.retrieve.rewrite import LLMRewriter, is_follow_up, rewrite


def test_follow_up_takes_the_subject_of_the_conversation():
    query, by = rewrite("and what torque for the drain plug?", ["How do I change the engine oil on the 2021 Aurora?"])
    assert by == "heuristic"
    assert query.startswith("and what torque for the drain plug?")
    for word in ("engine", "oil", "2021", "Aurora"):
        assert word in query


def test_pronoun_follow_up_carries_the_code():
    query, _ = rewrite("what does it mean?", ["my dash shows P0303"])
    assert "P0303" in query


def test_standalone_questions_are_left_alone():
    assert rewrite("Where is the coolant reservoir on the Aurora?", ["What does P0303 mean?"]) == (
        "Where is the coolant reservoir on the Aurora?", "none")
    assert rewrite("and the drain plug?", []) == ("and the drain plug?", "none")
    assert rewrite("and the drain plug?", ["engine oil"], mode="off") == ("and the drain plug?", "none")
    assert not is_follow_up("What is the tyre pressure for the spare wheel?", True)


def test_chains_of_follow_ups_keep_the_first_subject():
    query, _ = rewrite("how much does it hold?", ["where is the coolant reservoir", "and which coolant type?"])
    assert "coolant" in query


def test_llm_rewriter_is_used_and_falls_back_visibly():
    seen = []

    def good(prompt):
        seen.append(prompt)
        return "What torque for the engine oil drain plug?\nextra line"

    assert rewrite("and the drain plug torque?", ["engine oil change"], LLMRewriter(good)) == (
        "What torque for the engine oil drain plug?", "llm")
    assert "engine oil change" in seen[0]

    def broken(prompt):
        raise TimeoutError("backend down")

    query, by = rewrite("and the drain plug torque?", ["engine oil change"], LLMRewriter(broken))
    assert "oil" in query and by.startswith("heuristic (llm failed")
    query, by = rewrite("and the drain plug torque?", ["engine oil change"], LLMRewriter(lambda p: ""))
    assert by == "heuristic (llm answer unusable)"
