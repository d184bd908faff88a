from services.demo import DEMO_PASSWORD, demo_basics


async def test_sign_in_and_viewer(db, settings, gql):
    await demo_basics(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    result = await gql("{ viewer { login fullName role status } terms { version } }")
    assert result == {
        "data": {
            "viewer": {
                "login": "lysenko",
                "fullName": "Лысенко Александра Афанасьевна",
                "role": "CUSTOMER",
                "status": "ACTIVE",
            },
            "terms": {"version": "2014-01"},
        }
    }
