"""
Compose the demo corpus's English sentences, dataset/demo/sentences.txt, from the word lists,
sentence templates and hand-written sentences in this file.

    python dataset/compose_sentences.py                   # writes dataset/demo/sentences.txt
    python dataset/compose_sentences.py --out /tmp/s.txt --n 2500
    python dataset/compose_sentences.py --check dataset/demo/sentences.txt   # only validate a file

The sentences are spoken by the Festival speech synthesizer (dataset/make_demo.py) to make a small
text-to-speech corpus, so they are everyday, grammatical English with a wide vocabulary: numbers as
words and as digits, names of people and places, questions, exclamations and ordinary punctuation,
but only the characters Festival reads reliably (ASCII letters, digits, space and . , ? ! ' : ; $).

Every template slot draws from a deck (a word list of one kind: fruits, tools, verb phrases ...) that is
shuffled and dealt without replacement, so every list entry is used before any repeats. The output is
deterministic (a fixed seed, and no iteration over sets) and shuffled, so that any contiguous slice of
lines (the test and val splits are the first lines) is varied. Before writing, the script checks the
corpus against its brief and exits with a one-line error if a requirement fails.
"""
import argparse
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from dataset.files import write_atomic  # noqa: E402

SEED = 1234
BATCH = 2300  # sentences per shuffled batch: the first demo corpus was exactly one batch
DEFAULT_OUT = Path(__file__).resolve().parent / "demo" / "sentences.txt"

# What the corpus must satisfy (checked by --check and after every generation).
MIN_SENTENCES = 2200
MIN_DISTINCT_WORDS = 3000
MIN_WORDS, MAX_WORDS = 1, 25  # 3 to 25 in every batch but the short one (SHORT_BATCH)
MIN_SHARE = {"questions": 0.10, "exclamations": 0.05, "with_digits": 0.10}


def _items(text):
    """Comma- or newline-separated entries (an entry may hold spaces), in order, without repeats."""
    entries = (" ".join(e.split()) for e in re.split(r"[,\n]", text))
    return list(dict.fromkeys(e for e in entries if e))


def _lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


# ----------------------------------------------------------------------------------------------------
# Word lists. Each deck holds words of one kind so that a template slot gets words that make sense there
# (foods in eating sentences, tools in fixing sentences). Mass nouns and countable nouns are kept apart
# because they take different articles and plurals.
# ----------------------------------------------------------------------------------------------------

DECKS = {
    "fruit": _items("""
        apple, banana, orange, pear, peach, plum, apricot, cherry, grape, strawberry, raspberry,
        blueberry, blackberry, lemon, lime, mango, pineapple, melon, watermelon, coconut, kiwi, avocado,
        papaya, fig, nectarine, tangerine, grapefruit, pomegranate, cranberry, gooseberry,
        passion fruit, lychee, guava, persimmon, clementine, cantaloupe, quince, dragon fruit"""),
    "veg": _items("""
        tomato, potato, onion, carrot, cucumber, zucchini, eggplant, pumpkin, radish, beet, turnip,
        cabbage, cauliflower, bell pepper, sweet potato, parsnip, leek, shallot, artichoke, mushroom,
        green bean, pea, olive, pickle, chili pepper, jalapeno, Brussels sprout"""),
    "cooking": _items("""
        roasted, boiled, steamed, fried, grilled, baked, mashed, pickled, raw, stewed, stuffed, glazed,
        toasted, barbecued"""),
    "dish": _items("""
        sandwich, burger, hot dog, pizza, taco, burrito, pancake, waffle, muffin, cupcake, cookie,
        biscuit, bagel, croissant, doughnut, pretzel, pie, cake, tart, sausage, egg, omelet, meatball,
        dumpling, cracker, brownie, scone, spring roll, cinnamon roll, quesadilla, samosa, kebab,
        fish cake, crepe, cheeseburger, veggie burger, chicken wing, sausage roll, pork chop, lamb chop,
        baked potato, fruit salad, granola bar, pastry, enchilada, empanada"""),
    "food_m": _items("""
        rice, bread, cheese, soup, pasta, spaghetti, cereal, oatmeal, yogurt, salad, chicken, beef,
        pork, lamb, turkey, salmon, tuna, shrimp, bacon, ham, tofu, lasagna, risotto, curry, stew,
        chili, granola, toast, quinoa, couscous, hummus, guacamole, macaroni and cheese, fried rice,
        garlic bread, porridge, noodle soup, coleslaw, seafood, sushi"""),
    "dessert": _items("""
        chocolate, popcorn, ice cream, pudding, custard, fudge, caramel, cheesecake, apple pie,
        chocolate cake, banana bread, carrot cake, lemon tart, rice pudding, fruit cake, gingerbread"""),
    "ingredient": _items("""
        butter, honey, jam, sugar, flour, garlic, ginger, mustard, ketchup, mayonnaise, olive oil,
        cream, broccoli, spinach, lettuce, celery, corn, asparagus, kale, salsa, pesto, peanut butter,
        maple syrup, salt, yeast, soy sauce, brown sugar"""),
    "drink": _items("""
        coffee, tea, milk, water, orange juice, apple juice, grape juice, lemonade, hot chocolate,
        cocoa, soda, sparkling water, iced tea, green tea, herbal tea, mint tea, cider, espresso,
        cappuccino, lemon water, ginger ale, tomato juice, cranberry juice, chai, oat milk, almond milk,
        coconut water, root beer"""),
    "herb": _items("""
        basil, mint, rosemary, thyme, parsley, dill, oregano, sage, cilantro, chives, cinnamon, nutmeg,
        paprika, cumin, turmeric, black pepper, vanilla, cardamom"""),
    "pet": _items("""
        dog, cat, hamster, rabbit, goldfish, parrot, tortoise, guinea pig, budgie, pony, horse, lizard,
        snake, ferret, canary, mouse, gerbil, puppy, kitten, goat, chicken, duck, turtle, iguana,
        chinchilla, cockatoo, rat"""),
    "wild": _items("""
        fox, wolf, bear, deer, moose, elephant, giraffe, zebra, lion, tiger, leopard, cheetah, monkey,
        gorilla, kangaroo, koala, panda, camel, hippo, rhino, crocodile, alligator, frog, owl, eagle,
        pigeon, sparrow, robin, crow, swan, penguin, flamingo, peacock, ostrich, seagull, dolphin,
        whale, shark, octopus, jellyfish, crab, lobster, seal, walrus, otter, beaver, raccoon, skunk,
        hedgehog, badger, bat, squirrel, bison, buffalo, donkey, llama, alpaca, woodpecker, hummingbird,
        pelican, sloth, cow, pig, sheep, goose, hen, rooster, bull, ox, mule, reindeer, polar bear,
        sea lion, starfish, seahorse"""),
    "bug": _items("""
        ant, bee, wasp, spider, ladybug, beetle, caterpillar, dragonfly, grasshopper, mosquito, snail,
        worm, butterfly, moth, fly, cricket, firefly, cockroach, centipede, slug, earwig"""),
    "tool": _items("""
        hammer, screwdriver, wrench, saw, drill, shovel, rake, hoe, axe, ladder, tape measure,
        flashlight, chisel, paintbrush, paint roller, bucket, wheelbarrow, garden hose, trowel, crowbar,
        mallet, clamp, toolbox, pocketknife, glue gun, spade, pickaxe, sledgehammer, broom, mop,
        dustpan, sponge, funnel, padlock, rope, extension cord, stepladder, utility knife,
        hedge trimmer, lawn mower, leaf blower, wire brush, pitchfork"""),
    "kitchen": _items("""
        plate, bowl, cup, mug, glass, fork, spoon, knife, ladle, spatula, whisk, colander,
        cutting board, frying pan, saucepan, pot, teapot, jar, bottle, tray, napkin, tablecloth,
        placemat, rolling pin, baking tray, mixing bowl, measuring cup, oven glove, tea towel,
        salad bowl, pepper mill, salt shaker, corkscrew, can opener, grater, peeler, sieve"""),
    "item": _items("""
        key, wallet, purse, umbrella, backpack, suitcase, passport, water bottle, lunchbox, hairbrush,
        comb, toothbrush, towel, library card, ticket, receipt, diary, handbag, briefcase, shopping bag,
        photo album, postcard, envelope, parcel, map, guidebook, novel, magazine, newspaper, cookbook,
        sketchbook, pencil case, gym bag, sleeping bag, yoga mat, beach towel, picnic basket, blanket,
        pillow, alarm clock, candle"""),
    "furniture": _items("""
        sofa, couch, armchair, chair, table, coffee table, dining table, desk, bed, bunk bed, crib,
        bookcase, bookshelf, dresser, wardrobe, chest of drawers, nightstand, stool, bench,
        rocking chair, cabinet, cupboard, shelf, mirror, rug, lamp, floor lamp, ottoman, futon, hammock,
        high chair, filing cabinet, vase, grandfather clock, picture frame, coat rack, shoe rack,
        mattress, headboard, sideboard, recliner"""),
    "appliance": _items("""
        kettle, toaster, blender, microwave, oven, fridge, freezer, dishwasher, washing machine, dryer,
        iron, vacuum coffee maker, rice cooker, slow cooker, food processor, hair dryer, heater, fan,
        air conditioner, dehumidifier, stove, sewing machine, mixer, juicer, waffle iron, toaster oven,
        pressure cooker, water heater, doorbell, smoke alarm, thermostat"""),
    "room": _items("""
        kitchen, bedroom, bathroom, living room, dining room, attic, basement, garage, hallway, porch,
        balcony, laundry room, garden, backyard, patio, pantry, study, nursery, guest room, playroom,
        cellar, front yard, home office"""),
    "clothing": _items("""
        shirt, blouse, sweater, jacket, coat, raincoat, scarf, hat, cap, belt, tie, dress, skirt, suit,
        vest, hoodie, cardigan, uniform, apron, bathrobe, swimsuit, beanie, helmet, necklace, bracelet,
        ring, watch, jersey, tuxedo, gown, poncho, blazer, tank top, sweatshirt, bow tie, headband,
        bandana, sun hat, nightgown, wedding dress, winter coat, denim jacket, leather jacket"""),
    "pair": _items("""
        sock, shoe, boot, sandal, slipper, sneaker, glove, mitten, earring, rain boot, hiking boot,
        high heel, running shoe, ballet shoe, roller skate, ice skate"""),
    "building": _items("""
        library, bakery, museum, post office, bank, hospital, pharmacy, school, university, supermarket,
        grocery store, market, restaurant, cafe, coffee shop, hotel, airport, train station,
        bus station, stadium, gym, swimming pool, cinema, movie theater, theater, church, temple,
        mosque, cathedral, castle, palace, zoo, aquarium, park, playground, farm, factory, warehouse,
        office, police station, fire station, city hall, gas station, car wash, bookstore, toy store,
        hardware store, flower shop, pet shop, hair salon, clinic, lighthouse, mall, shopping center,
        concert hall, art gallery, bowling alley, ice rink, skate park, tennis court, golf course,
        amusement park, community center, town hall, youth hostel, bed and breakfast, bus stop,
        ice cream shop, pizzeria, diner, science museum, planetarium, water park, botanical garden,
        farmers market"""),
    "job": _items("""
        teacher, nurse, doctor, dentist, plumber, electrician, carpenter, farmer, baker, butcher, chef,
        waiter, pilot, bus driver, taxi driver, mechanic, firefighter, police officer, lawyer, judge,
        architect, engineer, scientist, artist, painter, musician, singer, actor, dancer, writer,
        journalist, photographer, librarian, accountant, cashier, receptionist, programmer, designer,
        gardener, florist, tailor, barber, hairdresser, veterinarian, surgeon, pharmacist, cleaner,
        mail carrier, builder, fisherman, sailor, soldier, astronaut, professor, tutor, coach, referee,
        lifeguard, zookeeper, beekeeper, potter, poet, novelist, editor, translator, pianist, violinist,
        drummer, guitarist, magician, clown, juggler, detective, security guard, mayor, historian,
        biologist, chemist, physicist, astronomer, therapist, psychologist, counselor, paramedic,
        flight attendant, tour guide, real estate agent, travel agent, social worker, nanny, babysitter,
        delivery driver, truck driver, locksmith, jeweler, park ranger, dog walker, personal trainer,
        yoga teacher, web designer"""),
    "vehicle": _items("""
        car, bus, truck, van, taxi, train, tram, bicycle, motorcycle, scooter, skateboard, boat, ship,
        ferry, canoe, kayak, yacht, sailboat, submarine, helicopter, airplane, jet, rocket, tractor,
        bulldozer, ambulance, fire truck, police car, limousine, minivan, pickup truck, tricycle,
        unicycle, hot air balloon, sled, sleigh, snowmobile, cable car, rowboat, speedboat, cruise ship,
        double decker bus, electric car, motorboat"""),
    "transit": _items("""
        bus, train, tram, ferry, shuttle, subway, night bus, express train, airport shuttle, water taxi,
        coach, cable car"""),
    "wmass": _items("""
        rain, snow, fog, hail, sleet, drizzle, thunder, lightning, strong wind, heavy rain, light snow,
        freezing rain, mist"""),
    "wcount": _items("""
        storm, thunderstorm, blizzard, hurricane, tornado, heatwave, flood, drought, cold snap,
        snowstorm, dust storm, hailstorm, gale, downpour, rain shower"""),
    "body": _items("""
        head, face, forehead, eyebrow, eye, ear, nose, cheek, lip, tooth, tongue, chin, jaw, neck,
        throat, shoulder, arm, elbow, wrist, hand, finger, thumb, back, hip, leg, knee, ankle, foot,
        heel, toe, knuckle, shin, thigh, palm, fingernail, toenail, stomach, chest, lower back, big toe"""),
    "organ": _items("""
        heart, lungs, brain, liver, kidneys, skeleton, muscles, blood vessels, spine, skin,
        nervous system, digestive system, immune system"""),
    "landscape": _items("""
        river, lake, mountain, hill, valley, forest, meadow, field, desert, beach, island, cliff, cave,
        waterfall, stream, pond, volcano, glacier, canyon, swamp, marsh, jungle, prairie, coast, bay,
        creek, lagoon, reef, sand dune, peninsula, orchard, vineyard, pasture, riverbank, hilltop,
        gorge, fjord, harbor, cove, plateau, rainforest, grassland"""),
    "flower": _items("""
        rose, tulip, daisy, sunflower, lily, orchid, violet, daffodil, poppy, dandelion, marigold,
        carnation, lilac, iris, peony, hyacinth, chrysanthemum, geranium, petunia, pansy, snowdrop,
        bluebell, camellia, begonia, crocus, gardenia, morning glory"""),
    "tree": _items("""
        oak, maple, pine, birch, willow, elm, cedar, chestnut, apple, cherry, palm, olive, walnut, fir,
        spruce, ash, beech, poplar, sycamore, magnolia, redwood, cypress, lemon, plum, eucalyptus,
        hazel"""),
    "school_item": _items("""
        pencil, pen, eraser, ruler, notebook, textbook, pencil sharpener, crayon, marker, highlighter,
        calculator, folder, binder, stapler, paper clip, glue stick, dictionary, atlas, compass,
        protractor, report card, timetable, worksheet, sticky note, index card, hole punch, school bag,
        exercise book, flash card, permission slip, library book"""),
    "subject": _items("""
        math, history, geography, science, biology, chemistry, physics, art, music, literature, English,
        French, Spanish, German, Latin, economics, philosophy, psychology, astronomy, computer science,
        drama, statistics, algebra, geometry, sociology, political science, engineering, architecture,
        accounting, creative writing, world history, physical education, calculus, Italian, Japanese,
        Chinese, Arabic, Greek"""),
    "instrument": _items("""
        piano, guitar, violin, cello, flute, trumpet, drums, saxophone, clarinet, trombone, harp,
        harmonica, ukulele, banjo, accordion, tuba, oboe, bassoon, xylophone, tambourine, keyboard,
        mandolin, bagpipes, recorder, organ, viola, French horn, double bass, bass guitar,
        electric guitar, triangle, cymbals, steel drums"""),
    "genre": _items("""
        jazz, blues, rock music, folk music, classical music, opera, reggae, country music, hip hop,
        pop music, soul music, funk, gospel music, swing music, techno, disco, punk rock, bluegrass,
        heavy metal, rap music, salsa music, indie music, choral music"""),
    "sport_play": _items("""
        soccer, football, basketball, baseball, tennis, golf, hockey, volleyball, rugby, cricket,
        badminton, table tennis, handball, lacrosse, softball, squash, darts, chess, checkers, pool,
        billiards, water polo, ice hockey, beach volleyball, cards"""),
    "sport_go": _items("""
        swimming, running, cycling, skiing, snowboarding, surfing, skating, skateboarding, hiking,
        climbing, bowling, sailing, rowing, fishing, camping, jogging, kayaking, canoeing,
        horseback riding, ice skating, rock climbing, scuba diving, snorkeling, windsurfing, sledding,
        dancing, birdwatching"""),
    "sport_do": _items("""
        boxing, wrestling, karate, judo, fencing, gymnastics, yoga, pilates, archery, aerobics, tai chi,
        kickboxing, martial arts, weightlifting, ballet, taekwondo"""),
    "hobby": _items("""
        knitting, sewing, pottery, gardening, baking, painting, drawing, photography, woodworking,
        stargazing, calligraphy, origami, embroidery, crochet, quilting, juggling, sculpture,
        jewelry making, scrapbooking, beekeeping, model building, poetry, coin collecting,
        stamp collecting, cooking, journaling, singing, acting, magic tricks"""),
    "emotion": _items("""
        joy, anger, fear, sadness, happiness, surprise, pride, shame, guilt, jealousy, relief,
        excitement, boredom, panic, embarrassment, gratitude, loneliness, nostalgia, frustration,
        disappointment, delight, confusion, regret, sympathy, envy, dread, awe, affection, irritation,
        hope"""),
    "virtue": _items("""
        patience, kindness, honesty, loyalty, courage, wisdom, generosity, humility, compassion,
        empathy, creativity, imagination, humor, determination, ambition, discipline, curiosity,
        confidence, optimism, tolerance, fairness, integrity, gentleness, persistence, resilience,
        modesty, politeness, punctuality, common sense, teamwork, enthusiasm, dedication, sincerity,
        reliability"""),
    "event": _items("""
        wedding, birthday party, concert, festival, parade, picnic, barbecue, meeting, conference,
        graduation, family reunion, dinner party, sleepover, field trip, baby shower,
        housewarming party, talent show, book fair, bake sale, science fair, art exhibition,
        school play, piano recital, workshop, lecture, audition, fireworks display, carnival,
        street fair, garage sale, charity run, marathon, quiz night, karaoke night, dance class,
        farewell party, surprise party, anniversary dinner, retirement party, Christmas party,
        Halloween party, Thanksgiving dinner, tea party, pool party"""),
    "material": _items("""
        wood, glass, steel, plastic, paper, cotton, wool, silk, leather, rubber, stone, brick, concrete,
        clay, gold, silver, copper, bronze, aluminum, marble, cardboard, velvet, denim, linen, bamboo,
        porcelain, wax, iron, tin, cork, canvas, felt, nylon, polyester"""),
    "tech": _items("""
        laptop, computer, phone, tablet, charger, keyboard, mouse, printer, scanner, monitor, speaker,
        microphone, camera, router, battery, remote control, television, radio, smartwatch, hard drive,
        memory card, projector, webcam, game console, flash drive, power bank, video camera,
        smart speaker, desktop computer"""),
    "office": _items("""
        report, invoice, contract, budget, schedule, agenda, presentation, proposal, memo, spreadsheet,
        application form, timesheet, newsletter, press release, business plan, job offer, slideshow,
        expense report, employee handbook, project plan, draft, survey, brochure, price list,
        weekly update, training manual, seating plan, guest list"""),
    "toy": _items("""
        puzzle, kite, doll, teddy bear, jump rope, board game, balloon, ball, beach ball, robot,
        toy car, toy train, rocking horse, dollhouse, spinning top, water gun, jigsaw puzzle,
        action figure, stuffed animal, paper airplane, rubber duck, snow globe, puppet, sticker book,
        coloring book, toy drum"""),
    "family": _items("""
        mother, father, mom, dad, sister, brother, grandmother, grandfather, grandma, grandpa, aunt,
        uncle, cousin, niece, nephew, son, daughter, husband, wife, stepfather, stepmother, stepsister,
        godmother, godfather, twin brother, twin sister, little sister, older brother, best friend,
        neighbor, roommate, classmate, coworker, boyfriend, girlfriend, landlord, boss, partner"""),
    "color": _items("""
        red, blue, green, yellow, orange, purple, pink, brown, black, white, gray, silver, gold, beige,
        turquoise, navy blue, maroon, violet, lavender, teal, crimson, scarlet, ivory, cream,
        olive green, tan, coral, amber, indigo, light blue, dark green, bright yellow, pale pink,
        charcoal gray"""),
    "adj_person": _items("""
        kind, friendly, generous, honest, patient, polite, shy, quiet, funny, clever, smart, brave,
        curious, cheerful, calm, confident, modest, stubborn, careful, gentle, strict, thoughtful,
        helpful, reliable, creative, talented, charming, sensible, sensitive, ambitious, humble, clumsy,
        forgetful, loyal, sincere, witty, wise, bossy, cautious, moody, sociable, talkative, easygoing,
        optimistic, impatient, determined, adventurous, energetic, enthusiastic, affectionate,
        considerate, diligent, fearless, imaginative, mischievous, passionate, playful, practical,
        punctual, sympathetic, tidy, messy, trustworthy, brilliant, fussy, jolly, sweet, tough,
        hardworking, lazy, rude, grumpy, selfish, nosy, organized, disciplined, efficient, outgoing,
        loud, serious, romantic, artistic, musical, independent, responsible"""),
    "adj_feel": _items("""
        happy, sad, tired, sleepy, hungry, thirsty, excited, bored, worried, scared, angry, upset,
        surprised, relieved, embarrassed, confused, lonely, jealous, grateful, anxious, exhausted,
        hopeful, disappointed, delighted, annoyed, frustrated, amazed, shocked, homesick, restless,
        stressed, relaxed, glad, thrilled, nervous, ashamed, furious, terrified, miserable, satisfied,
        overwhelmed, impressed, inspired, motivated, peaceful, sick, dizzy, heartbroken, proud, guilty"""),
    "adj_thing": _items("""
        old, new, shiny, broken, ancient, modern, cheap, expensive, fragile, sturdy, dusty, clean,
        dirty, sticky, wet, heavy, tiny, huge, enormous, little, large, small, lovely, beautiful, ugly,
        pretty, useful, handy, portable, comfortable, noisy, bright, shabby, rusty, spotless, stained,
        faded, crooked, wobbly, bulky, compact, delicate, antique, vintage, secondhand, precious,
        valuable, unusual, strange, odd, ordinary, rare, mysterious, dull, fluffy, spare, elegant,
        fancy, plain, simple, colorful, wooden, handmade, foldable, waterproof, lightweight, miniature,
        brand new, round, square, narrow, wide, tall, thick, thin, soft, smooth, rough, sharp, flat,
        empty"""),
    "taste": _items("""
        delicious, tasty, salty, sweet, sour, bitter, spicy, crunchy, crispy, juicy, creamy, cheesy,
        fresh, rich, bland, savory, smoky, tangy, zesty, sugary, buttery, nutty, fruity, mild, hearty,
        peppery, lemony, minty, chewy, soggy, greasy, stale, tender, filling, flavorful, garlicky,
        flaky, moist"""),
    "adj_place": _items("""
        crowded, busy, quiet, peaceful, noisy, lively, empty, modern, historic, charming, cozy,
        spacious, cramped, famous, popular, remote, deserted, picturesque, scenic, dangerous, safe,
        affordable, expensive, bustling, colorful, elegant, welcoming, gloomy, magnificent, grand,
        tropical, chilly, hidden, pleasant, stunning, breathtaking, sleepy, friendly, tidy, vibrant,
        relaxing, romantic, clean, lovely"""),
    "wadj": _items("""
        sunny, cloudy, rainy, windy, foggy, snowy, stormy, chilly, freezing, humid, muggy, damp, mild,
        warm, hot, cold, cool, frosty, breezy, gloomy, overcast, icy, misty, drizzly, scorching, wet,
        gray, bright"""),
    "exp": _items("""
        boring, exciting, interesting, fascinating, amazing, awful, terrible, wonderful, fantastic,
        brilliant, disappointing, hilarious, funny, sad, moving, touching, scary, frightening,
        thrilling, confusing, surprising, memorable, dull, entertaining, enjoyable, relaxing, stressful,
        exhausting, long, successful, impressive, inspiring, strange, awkward, embarrassing, magical,
        pleasant, charming, delightful, spectacular, beautiful, lovely"""),
    "degree": _items("""
        very, really, quite, extremely, incredibly, rather, fairly, pretty, remarkably, surprisingly,
        unusually, truly, genuinely, so"""),
    "manner": _items("""
        quickly, slowly, carefully, quietly, gently, patiently, calmly, happily, cheerfully, eagerly,
        nervously, proudly, neatly, carelessly, cautiously, confidently, efficiently, thoroughly,
        properly, correctly, perfectly, beautifully, badly, poorly, swiftly, rapidly, steadily,
        gradually, immediately, promptly, reluctantly, willingly, gladly, secretly, silently, loudly,
        clumsily, skillfully, casually, lazily, anxiously, impatiently, creatively, successfully,
        easily, awkwardly, messily, gracefully, energetically, enthusiastically, diligently"""),
    "freq": _items("""
        always, usually, often, sometimes, occasionally, rarely, seldom, never, regularly, normally,
        generally, frequently, hardly ever"""),
    "sadv": _items("""
        luckily, fortunately, unfortunately, surprisingly, apparently, obviously, naturally, sadly,
        thankfully, strangely, oddly, ironically, amazingly, predictably, as usual, of course,
        as expected, believe it or not"""),
    "padv": _items("upstairs, downstairs, indoors, outdoors, outside, inside, next door, nearby"),
    "name_f": _items("""
        Maria, Emma, Olivia, Sophia, Ava, Isabella, Mia, Charlotte, Amelia, Harper, Evelyn, Abigail,
        Emily, Ella, Elizabeth, Madison, Scarlett, Victoria, Grace, Chloe, Lily, Hannah, Zoe, Nora,
        Leah, Hazel, Violet, Aurora, Savannah, Audrey, Bella, Claire, Lucy, Anna, Samantha, Caroline,
        Sarah, Alice, Ruby, Eva, Naomi, Priya, Aisha, Fatima, Mei, Yuki, Ananya, Leila, Amara, Rosa,
        Carmen, Lucia, Elena, Julia, Laura, Rachel, Rebecca, Megan, Jessica, Jennifer, Linda, Patricia,
        Susan, Karen, Nancy, Margaret, Helen, Sandra, Ruth, Michelle, Amy, Angela, Melissa, Nicole,
        Katherine, Christine, Stephanie, Catherine, Frances, Julie, Jean, Katie, Joan, Rose, Irene,
        Jane, Andrea, Louise, Anne, Diana, Annie, Josephine, Shannon, Ellen, April, Clara, Eleanor,
        Alicia, Erin, Lauren, Sally, June, Holly, Maya, Zara, Ingrid, Freya, Imogen, Poppy, Isla,
        Beatrice, Harriet, Matilda, Phoebe, Tessa, Gemma, Keisha, Jasmine, Gabriela, Daniela, Nadia,
        Layla, Yasmin, Sakura, Hana"""),
    "name_m": _items("""
        James, John, Robert, Michael, William, David, Richard, Joseph, Thomas, Charles, Daniel, Matthew,
        Anthony, Mark, Steven, Paul, Andrew, Joshua, Kenneth, Kevin, Brian, George, Timothy, Edward,
        Jason, Ryan, Jacob, Nicholas, Eric, Jonathan, Stephen, Justin, Scott, Brandon, Benjamin, Samuel,
        Alexander, Frank, Patrick, Raymond, Jack, Tyler, Aaron, Jose, Adam, Nathan, Henry, Douglas,
        Zachary, Peter, Ethan, Walter, Noah, Christian, Sean, Austin, Arthur, Dylan, Jesse, Jordan, Joe,
        Gabriel, Logan, Alan, Juan, Elijah, Vincent, Mason, Philip, Louis, Liam, Oliver, Lucas, Leo,
        Oscar, Hugo, Finn, Owen, Caleb, Isaac, Luke, Carlos, Diego, Miguel, Rafael, Omar, Ahmed, Hassan,
        Ravi, Arjun, Rahul, Kenji, Hiroshi, Wei, Kwame, Kofi, Tariq, Mateo, Felix, Max, Theo, Hamish,
        Angus, Callum, Declan, Connor, Malik, Andre, Marcus, Darnell, Jamal, Ivan, Dmitri, Stefan, Lars,
        Sven, Pedro, Antonio, Marco, Giovanni, Sanjay, Ali, Yusuf, Samir"""),
    "city": _items("""
        London, Paris, Berlin, Madrid, Rome, Lisbon, Dublin, Edinburgh, Manchester, Oxford, Cambridge,
        Amsterdam, Brussels, Vienna, Prague, Budapest, Warsaw, Copenhagen, Stockholm, Oslo, Helsinki,
        Athens, Istanbul, Cairo, Nairobi, Lagos, Accra, Johannesburg, Cape Town, Casablanca, Dubai,
        Mumbai, Delhi, Bangalore, Bangkok, Singapore, Jakarta, Manila, Hong Kong, Shanghai, Beijing,
        Tokyo, Kyoto, Seoul, Sydney, Melbourne, Auckland, Wellington, Toronto, Montreal, Vancouver,
        Ottawa, New York, Boston, Chicago, Seattle, Denver, Dallas, Houston, Atlanta, Miami, Phoenix,
        San Francisco, Los Angeles, San Diego, Las Vegas, Nashville, New Orleans, Detroit, Philadelphia,
        Honolulu, Mexico City, Havana, Lima, Bogota, Buenos Aires, Rio de Janeiro, Sao Paulo, Reykjavik,
        Zurich, Geneva, Munich, Milan, Venice, Naples, Barcelona, Seville, Porto, Marseille, Krakow,
        Tallinn, Riga, Marrakesh, Kingston, Nassau"""),
    "country": _items("""
        Canada, Mexico, Brazil, Argentina, Chile, Peru, Colombia, Ireland, Scotland, Wales, England,
        France, Spain, Portugal, Italy, Germany, Austria, Switzerland, Norway, Sweden, Finland, Denmark,
        Iceland, Poland, Greece, Turkey, Egypt, Morocco, Kenya, Nigeria, Ghana, Ethiopia, India, Japan,
        China, South Korea, Vietnam, Thailand, Indonesia, Malaysia, Australia, New Zealand, Jamaica,
        Cuba, Hungary, Tanzania, Nepal, Costa Rica, Sri Lanka, South Africa"""),
    "weekday": _items("Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday"),
    "month": _items("""
        January, February, March, April, May, June, July, August, September, October, November,
        December"""),
    "season": _items("spring, summer, autumn, winter, fall"),
    # Everyday activities, each an action verb with an object that suits it. The verb (first word) is
    # conjugated by conjugate(); objects avoid possessive pronouns so any subject fits.
    "vp": _items("""
        accept the invitation, accompany the children to the park, activate the new bank card,
        add more salt to the soup, adjust the mirror, admire the view, adopt a puppy,
        advise the new students, air out the guest room, alphabetize the bookshelf,
        alter the wedding dress, anchor the boat, announce the winners, answer the phone,
        apologize to the neighbors, applaud the performers, apply for the job, arrange the flowers,
        arrive early, ask for directions, assemble the new desk, assist the head chef,
        attach the photos to the email, attend the meeting, audition for the school play,
        babysit the twins, bake a cake, bandage the cut, bargain at the market, barbecue some sausages,
        bathe the baby, beat the eggs, bend the wire, bike to the library, bleach the towels,
        blend the soup, blow out the candles, board the plane, boil some water, book a table for dinner,
        borrow some sugar from the neighbors, brainstorm some ideas, brew some coffee, bring a jacket,
        browse the shelves at the bookstore, brush the dog, build a sandcastle, burn the old letters,
        bury the time capsule, butter the toast, buy groceries, call the plumber, camp by the lake,
        cancel the appointment, canoe down the river, carpool to work, carry the shopping bags,
        carve the turkey, catch the early train, cater the wedding, celebrate the anniversary,
        change the light bulb, charge the phone, chat with the neighbors, check the mail,
        cheer for the home team, chill the drinks, choose a restaurant, chop the onions,
        circle the date on the calendar, clean the windows, clear the table, climb the hill,
        clip the coupons, close the curtains, coach the soccer team, collect the tickets,
        color in the drawings, comfort the crying child, compare prices, compete in the spelling bee,
        complete the form, compose a short song, confirm the reservation, congratulate the winners,
        connect the printer, contact the landlord, cook dinner, correct the mistakes, crack the eggs,
        create a new playlist, cross the street, cuddle the puppy, curl up on the sofa, cut the grass,
        cycle to work, dance in the kitchen, decide on a color, declutter the garage, decorate the tree,
        defrost the freezer, delete the old files, deliver the packages, deposit the money at the bank,
        design a logo, develop the photos, dig a hole in the garden, dim the lights,
        discover a new cafe, discuss the plan, disinfect the counters, dismantle the old shed,
        dive into the pool, divide the cake, do the laundry, donate old clothes,
        download the new update, doze off on the couch, drain the pasta, draw a map,
        dress up for the party, drink a glass of water, drive to the coast,
        drizzle olive oil over the salad, drop off the kids at school, dry the clothes on the line,
        dust the shelves, dye the fabric, earn some extra money, eat breakfast, edit the video,
        email the teacher, embroider a pillowcase, empty the dishwasher, encourage the players,
        enjoy the sunshine, enroll in a pottery class, enter the competition, entertain the guests,
        erase the whiteboard, exchange the sweater for a smaller size, exercise in the park,
        explain the rules, explore the old town, feed the cat, fetch the newspaper, file the paperwork,
        fill the bathtub, fillet the fish, film the ceremony, find a parking space, finish the puzzle,
        fish off the pier, fix the leaking faucet, flip the pancakes, floss after every meal,
        fluff up the pillows, fly a kite, fold the towels, follow the recipe, frame the photograph,
        freeze the leftovers, frost the cupcakes, fry some onions, garnish the plates, gather firewood,
        get a haircut, give a speech, glue the broken vase, go shopping, grab a coffee,
        grate the cheese, greet the visitors, grill some burgers, grind the coffee beans,
        groom the horse, grow tomatoes, hammer a nail into the wall, hang the picture,
        harvest the apples, have a picnic by the river, heat some milk, help the neighbors,
        hem the curtains, hide the presents, hike up the mountain, hire a babysitter,
        hold the door for the others, hose down the patio, host a dinner party, hum a tune,
        hurry to the station, illustrate a children's book, improve the website,
        inflate the air mattress, inform the school, inspect the damage, install the new software,
        interview the candidates, introduce the speaker, invent a new game,
        investigate the strange noise, invite the whole class, iron the shirts, join a book club,
        jog around the lake, jot down the address, judge the baking contest, kayak along the coast,
        keep the receipt, knead the dough, knit a scarf, knock on the door, label the boxes,
        lace up the boots, ladle the soup into bowls, lay the table, lead the tour,
        learn a new language, leave a message, lend the neighbors a ladder, lift the heavy box,
        light a fire, listen to the radio, load the dishwasher, locate the nearest pharmacy,
        lock the front door, look after the baby, mail the invitations, make the bed,
        marinate the chicken, mark the tests, mash the potatoes, measure the window,
        meditate in the garden, meet the new neighbors, melt the butter, memorize the poem,
        mend the fence, microwave some popcorn, milk the cows, mince the garlic, mix the paint,
        mop the floor, mount the television on the wall, move the couch, mow the lawn, name the puppy,
        nap in the hammock, observe the birds, oil the squeaky hinge, open the windows, order a pizza,
        organize the closet, pack the suitcases, paddle across the lake, paint the fence, park the car,
        participate in the quiz, patch the old jeans, pay the bills, peel the potatoes,
        perform a magic trick, phone the dentist, photocopy the handouts, photograph the sunset,
        pick some strawberries, pickle the cucumbers, pin the map on the wall, pitch the tent,
        plan the vacation, plant some seeds, play the piano, plug in the kettle, poach some salmon,
        polish the shoes, postpone the picnic, pour the tea, practice the speech, preheat the oven,
        prepare lunch, print the tickets, prune the rose bushes, pull the weeds, pump up the tires,
        push the stroller, put away the toys, rake the leaves, read the newspaper,
        rearrange the furniture, rebuild the garden wall, recharge the batteries, recite a poem,
        recommend a good book, record a podcast, recycle the bottles, referee the match,
        refill the water bottle, refuel the car, register for the class, rehearse the lines,
        reheat the leftovers, relax by the pool, remind the kids, remodel the kitchen, remove the stain,
        renew the library books, renovate the bathroom, rent a cabin, repaint the bedroom,
        repair the bike, replace the batteries, replant the tulips, reply to the email,
        report the problem, repot the cactus, request a refund, reschedule the dentist appointment,
        rescue a stray cat, reserve a table by the window, reset the password, rest for a while,
        restart the computer, restock the shelves, return the rental car, review the notes,
        revise the essay, ride a horse, ring the bell, rinse the rice, roast a chicken,
        rock the baby to sleep, roll out the dough, rotate the tires, row across the lake,
        run a marathon, sail around the bay, sand the old door, save some money, say goodbye,
        scan the documents, schedule a meeting, scoop the ice cream, scrape the ice off the windshield,
        scrub the bathtub, seal the envelope, search for the remote, season the soup, see a movie,
        sell the old car, send a postcard, serve the dessert, set the table, sew a button on the shirt,
        shake the bottle, shampoo the carpet, share the dessert, sharpen the pencils,
        shelve the new books, shoot a short film, shop for shoes, shovel the snow,
        show the photos to Grandma, shred the old documents, shuffle the cards, sift the flour,
        sign the contract, simmer the stew, sing a song, sit by the fire, skate on the frozen pond,
        sketch the old church, ski down the mountain, skip breakfast, sled down the hill,
        sleep in on Sunday, slice the bread, snack on some crackers, snorkel near the reef,
        soak the beans overnight, solve the riddle, sort the recycling, speak to the manager,
        spend the afternoon at the beach, spray the plants, spread jam on the toast,
        sprinkle some sugar on top, squeeze the lemons, stack the chairs, stain the deck, stand in line,
        start the car, steam the vegetables, steep the tea, stick the stamps on the envelopes,
        stir the sauce, stock up on candles, stop at the bakery, store the boxes in the attic,
        straighten the picture frame, stretch on the yoga mat, stroll along the river,
        study for the exam, stuff the peppers, submit the application, subscribe to the newsletter,
        sunbathe on the beach, surf the big waves, swap books with a friend, sweep the porch,
        swim a few laps, switch off the lights, take a nap, talk to the teacher, taste the soup,
        teach a cooking class, tell a story, tend the vegetable garden, test the smoke alarm,
        text the babysitter, thank the host, thaw the chicken, throw away the old newspapers,
        tidy the living room, toast some bread, toss the salad, tour the museum, train for the race,
        translate the letter, travel by train, trim the hedge, try the new restaurant,
        tuck the kids into bed, tune the guitar, turn off the oven, tutor the younger students,
        type the report, unclog the sink, unfold the map, unload the car, unlock the back door,
        unpack the groceries, unplug the toaster, unroll the sleeping bags, untangle the cables,
        unwrap the presents, update the calendar, upgrade the phone plan, upload the photos,
        vacuum the carpet, varnish the bookshelf, visit the grandparents,
        volunteer at the animal shelter, vote in the election, wait for the bus, wake up early,
        walk the dog, wander around the market, warm up the soup, wash the dishes, watch the news,
        water the plants, wave to the neighbors, wax the car, wear a raincoat, weave a basket,
        weed the garden, weigh the flour, welcome the new students, wheel the bicycle into the shed,
        whip the cream, whisk the batter, whistle for the dog, whittle a walking stick,
        wipe the counter, withdraw some cash, work late, wrap the presents, wring out the wet towels,
        write a letter, zip up the suitcase"""),
}

# "base past participle" for the irregular verbs that head a verb phrase.
IRREGULAR_VERBS = {base: (past, participle) for base, past, participle in (e.split() for e in _items("""
    babysit babysat babysat, beat beat beaten, bend bent bent, blow blew blown, bring brought brought,
    build built built, buy bought bought, catch caught caught, choose chose chosen, cut cut cut,
    dig dug dug, do did done, draw drew drawn, drink drank drunk, drive drove driven, eat ate eaten,
    feed fed fed, find found found, fly flew flown, freeze froze frozen, get got gotten,
    give gave given, go went gone, grind ground ground, grow grew grown, hang hung hung, have had had,
    hide hid hidden, hold held held, keep kept kept, lay laid laid, lead led led, leave left left,
    lend lent lent, light lit lit, make made made, meet met met, pay paid paid, put put put,
    read read read, rebuild rebuilt rebuilt, reset reset reset, ride rode ridden, ring rang rung,
    run ran run, say said said, see saw seen, sell sold sold, send sent sent, set set set,
    sew sewed sewn, shake shook shaken, shoot shot shot, show showed shown, sing sang sung, sit sat sat,
    sleep slept slept, speak spoke spoken, spend spent spent, spread spread spread, stand stood stood,
    stick stuck stuck, sweep swept swept, swim swam swum, take took taken, teach taught taught,
    tell told told, throw threw thrown, wake woke woken, wear wore worn, weave wove woven,
    withdraw withdrew withdrawn, wring wrung wrung, write wrote written"""))}
THIRD_PERSON_IRREGULAR = {"have": "has"}
# Verbs of more than one syllable stressed on the last, which double their final consonant (submitted).
STRESS_FINAL = {"babysit", "submit", "reset", "repot", "unclog", "unplug", "unwrap"}

IRREGULAR_PLURALS = dict(e.split() for e in _items("""
    mouse mice, goose geese, sheep sheep, deer deer, moose moose, bison bison, buffalo buffalo, ox oxen,
    reindeer reindeer, goldfish goldfish, jellyfish jellyfish, starfish starfish, fish fish,
    child children, tooth teeth, foot feet, knife knives, pocketknife pocketknives, shelf shelves,
    wolf wolves, scarf scarves, wife wives, potato potatoes, tomato tomatoes, volcano volcanoes,
    mosquito mosquitoes, mango mangoes, tornado tornadoes, cactus cacti, stomach stomachs,
    zucchini zucchini"""))

# Words that begin with a vowel letter but a consonant sound, and the reverse: they decide a or an.
A_BEFORE_VOWEL = set(_items("""
    one, once, unicorn, uniform, unique, unit, union, universe, university, unicycle, usual, useful,
    useless, user, utensil, utility, ukulele, eucalyptus, european, ewe"""))
AN_BEFORE_CONSONANT = set(_items("hour, hourly, honest, honor, honorable, heir"))

# ----------------------------------------------------------------------------------------------------
# Templates: {deck} takes the next word of a deck, {deck2} a second one in the same sentence, and a
# suffix inflects it: .a (with a or an), .pl (plural), .cap (title case), .most (superlative), and for
# verb phrases .s (third person), .past, .pp (past participle), .ing. Number slots are in GENERATORS.
# ----------------------------------------------------------------------------------------------------

TEMPLATES = _lines("""
Have you seen my {item}? I left it on the {furniture}.
{name_m} forgot his {item} at the {building}.
{name_f} can't find her {item} anywhere.
Could you put my {item} in the car, {name_m}?
Don't forget your {item}, {name_f}!
We finally bought a new {furniture} for the {room}; it cost {price}.
The old {furniture} is too heavy for {name_m} to move on his own.
Help me carry this {furniture} into the {room}, please.
This {furniture} is made of {material}.
Why is the {furniture} in the {room}?
I found {adj_thing.a} {furniture} at the flea market for {price}.
{name_m}, could you give me a hand with the {furniture}?
The {appliance} stopped working again this morning.
Can you show me how to use this {appliance}?
Is the {appliance} still under warranty?
Our {appliance} makes a strange noise every time we turn it on.
We paid {price} to get the {appliance} repaired.
Oh no, I think I left the {appliance} on!
I think we should paint the {room} {color}.
Who left the lights on in the {room}?
The kids are playing {padv} with the {pet}.
I'll wait for you {padv}, so take your time.
Could you hand me {kitchen.a}, please?
Please wash the {kitchen} before you use it.
Where do you keep the {kitchen}?
Be careful, don't drop that {kitchen}!
I bumped my knee on the {furniture} again!
Could you pick up some {fruit.pl} on your way home?
These {fruit.pl} are not ripe yet.
She cut {fruit.a} into small pieces for the baby.
A bag of {fruit.pl} costs {smallprice} at the market.
Which do you prefer, {fruit.pl} or {fruit2.pl}?
Chop the {veg.pl} and add them to the pot.
I like my {veg.pl} {cooking}, not {cooking2}.
My son refuses to eat {veg.pl}.
We grew {veg.pl} and {veg2.pl} in the garden this summer.
I had {dish.a} and a cup of {drink} for breakfast.
Can I get {dish.a} to go, please?
{name_m} ate {num} {dish.pl} at the party!
That {dish} was so {taste}!
I'd rather have {dish.a} than {dish2.a}.
There is some {food_m} left in the fridge if you're hungry.
Would you like some more {food_m}?
We ran out of {ingredient} again.
Is there any {ingredient} left?
Could you add {ingredient} to the shopping list?
This {food_m} is {degree} {taste}.
The {dish.pl} at that little cafe are {taste} and cheap.
My grandmother makes the best {dessert} in {city}.
How much {food_m} should I buy for {tens} people?
I love {dessert}!
Who ate all the {dessert}?
Save some {dessert} for me!
{name_f} brought homemade {dessert} to the {event}.
Pass the {ingredient}, please.
Have you ever tried {food_m} with {herb}?
I always drink {drink} in the morning.
Would you like some {drink} while you wait?
Add a pinch of {herb} before serving.
Could you buy some {herb} on your way back?
The recipe calls for {decimal} cups of flour and a little {herb}.
Our neighbor's {pet} keeps getting into our garden.
{name_f} has always wanted {pet.a}.
Who is going to look after the {pet} while we're away?
My {family} is allergic to {pet.pl}.
We saw {wild.a} on our trip to {country} in {year}.
The documentary about {wild.pl} was {degree} {exp}.
My little brother is afraid of {wild.pl}.
{name_m} drew {wild.a} on the back of his notebook.
Look, there's {wild.a} over there!
How many {wild.pl} did you see at the zoo?
The zoo in {city} has {digits} {wild.pl}.
There's {bug.a} on your shoulder!
Why are there so many {bug.pl} in the kitchen?
The kids caught {bug.a} and put it in a jar.
Could you pass me the {tool}?
I need {tool.a} to fix the {furniture}.
{name_m} borrowed my {tool} and never gave it back.
Where did you put the {tool}?
We keep the {tool} in the garage, next to the bikes.
The hardware store has {tool.pl} on sale this week.
She wore {color.a} {clothing} to the {event}.
He spilled {drink} all over his new {clothing}.
I'm looking for {clothing.a} in a larger size.
Where did you buy that {clothing}?
I paid {price} for this {clothing}, can you believe it?
This {clothing} doesn't fit me anymore.
Do you have this {clothing} in {color}?
My favorite color used to be {color}.
I can't find my other {pair}.
I need a new pair of {pair.pl}.
Take off your {pair.pl} before you come inside, please.
Is there {building.a} near here?
Excuse me, how do I get to the {building}?
We met outside the {building} at {time}.
The {building} closes early on {weekday.pl}.
The new {building} downtown is {degree} {adj_place}.
{sadv}, the {building} was still open when we arrived.
What time does the {building} open on {weekday.pl}?
Turn left at the {building} and keep going straight.
They are building a new {building} across the street.
The {building} is at {bigdigits} {tree.cap} Street.
This {building} is so {adj_place}!
We usually go to the {building} on {weekday} mornings.
My {family} works as {job.a} in {city}.
{name_m} wants to be {job.a} when he grows up.
{name_f} wants to be {job.a} when she grows up.
I asked the {job} for some advice.
The {job} said it would take about {num} days.
Being {job.a} is harder than it looks.
Everyone says {name_m} is {adj_person.a} {job}.
{name_f} has worked as {job.a} since {year}.
Do you know anyone who works as {job.a}?
{name_f} has never traveled by {vehicle}.
The kids waved at the {vehicle} as it went past.
Look at that {vehicle}!
There was {vehicle.a} in the parade this year.
Watch out for that {vehicle}!
My nephew drew {vehicle.a} for the school art show.
Hurry up, the {transit} leaves in {num} minutes!
The {transit} was late again this morning.
The last {transit} to {city} leaves at {time}.
When does the next {transit} to {city} leave?
{name_m}, your {transit} is here!
It's so {wadj} today!
The weather in {city} was {wadj} all week.
Is it usually this {wadj} in {month}?
The forecast says there will be {wmass} this weekend.
There was {wmass} all morning, so we stayed inside.
There was {wcount.a} in {city} last week.
Did you hear about the {wcount} in {country}?
It was {digits} degrees in {city} yesterday.
My {body} has been hurting since {weekday}.
{name_m} hurt his {body} playing {sport_play}.
{name_f} hurt her {body} while {sport_go}.
The doctor looked at my {body} and said it was fine.
My {body} hurts.
Today in biology class we learned about the {organ}.
The textbook has a whole chapter on the {organ}.
There is a beautiful {landscape} just outside {city}.
We hiked all the way to the {landscape} and back.
The view of the {landscape} from our hotel was {exp}.
We saw {wild.a} near the {landscape} yesterday.
Have you ever seen {landscape.a} this {adj_place}?
{name_f} planted {flower.pl} along the fence.
The {flower.pl} in the garden are finally blooming.
I think {flower.pl} are the prettiest flowers.
There is an old {tree} tree behind the school.
We sat in the shade of a big {tree} tree.
{name_m} climbed the tallest {tree} tree in the park.
I left my {school_item} in the classroom.
Have you seen my {school_item}? I had it this morning.
The teacher asked everyone to bring {school_item.a} on {weekday}.
Did you finish your {subject} homework?
My favorite subject at school was {subject}.
The {subject} exam is on {weekday} at {time}.
{name_f} is studying {subject} at a university in {city}.
I was never very good at {subject}.
{name_m} got {digits} out of 100 on the {subject} test.
{name_f} has been learning the {instrument} since {year}.
Can you play the {instrument}?
Who taught you to play the {instrument}?
The sound of the {instrument} always makes me smile.
My dad loves listening to {genre} while he cooks.
I never really got into {genre}.
The radio station plays {genre} all night.
{name_m} plays {sport_play} every {weekday}.
Do you want to play {sport_play} after school?
I'm not very good at {sport_play}, but I enjoy it.
Do you want to go {sport_go} this weekend?
We went {sport_go} in {country} last {season}.
She does {sport_do} twice a week.
{name_m} started doing {sport_do} to stay fit.
{name_f} took up {hobby} last {season}.
My favorite hobby is {hobby}.
Is {hobby} expensive to get into?
I've always wanted to try {hobby}.
I feel so {adj_feel} today.
Why do you look so {adj_feel}?
{name_m} was {adj_feel} when he heard the news.
{name_f} seemed {adj_feel} after the {event}.
{name_m} seems {adj_feel} today.
{name_f} is one of the {adj_person.most} people I know.
My {family} is {degree} {adj_person}.
I wish I were as {adj_person} as my {family}.
I felt a wave of {emotion} when I saw the results.
{name_f} could not hide her {emotion} when she opened the letter.
There was a look of {emotion} on his face.
You need a lot of {virtue} to teach small children.
{virtue} is the most important thing in a friend.
I really admire her {virtue}.
A little {virtue} goes a long way.
Are you coming to the {event} on {weekday}?
The {event} was {degree} {exp}.
What {exp.a} {event}!
We are planning {event.a} for next {month}.
That was the {exp.most} {event} I've ever been to.
The {event} has been postponed until {month}.
The {event} starts at {time}, so don't be late.
Tickets for the {event} cost {price} each.
How was the {event} last night?
What did {name_f} say about the {event}?
Could you remind me what time the {event} starts?
Only {digits} people came to the {event} this year.
We need {num} more chairs for the {event}.
Is this bag made of {material} or {material2}?
My {tech} stopped working again.
Where did you buy your {tech}?
I need to buy a new {tech} before the trip.
Is it okay if I borrow your {tech} for a moment?
The new {tech} costs {bigprice}, which is too much for me.
I need to finish the {office} before {clock}.
Could you send me the {office} by {time} on {weekday}?
The manager wants to see the {office} first thing tomorrow.
{name_m} spent the whole morning working on the {office}.
The {office} is due on {month} {day}.
The kids spent all afternoon playing with {toy.a}.
We bought {toy.a} for my nephew's birthday.
Who left this {toy} on the stairs?
My {family} is coming to visit on {month} {day}.
{name_f}'s {family} lives in {city}.
I'm going to {city} to visit my {family}.
My {family}'s birthday is on the {ordinal} of {month}.
Have you ever been to {country}?
How long have you lived in {city}?
Would you rather visit {city} or {city2}?
Is it true that {name_m} is moving to {country}?
How old was {name_m} when he moved to {country}?
What's the best way to get to {city} from here?
{name_f} and {name_m} met in {city} in {year}.
My grandfather was born in {country} in {oldyear}.
{name_m} was born on {month} {day}, {year}.
We flew from {city} to {city2} last {month}.
The flight to {city} takes about {decimal} hours.
It's about {bigdigits} kilometers from {city} to {city2}.
{name_f} ran {decimal} kilometers before breakfast.
{city} is {degree} {adj_place} in the summer.
We stayed in {adj_place.a} little town near {city}.
Next {month}, we are flying to {city} for {event.a}.
Happy birthday, {name_f}!
Good morning, {name_m}!
Welcome to {city}!
I miss {city}.
Congratulations on the new job, {name_f}!
See you on {weekday}!
Say hello to {name_m} for me.
Is {name_f} coming with us?
Thank you, {name_f}.
I'll call you back in {num} minutes, {name_m}.
Call {name_f} at {time}.
I can't believe it's already {month}!
Could you ask {name_m} to {vp} on {weekday}?
{name_f} and {name_m} are going to {vp} together.
{name_m} said he would {vp} after the {event}.
{name_f} asked me to {vp} while she was in {city}.
{name_m} had to {vp} before his {subject} class.
While {name_f} {vp.past}, {name_m} {vp2.past}.
My {family} {freq} {vp.s} on {weekday.pl}.
Every {weekday}, {name_m} {vp.s} and {name_f} {vp2.s}.
{name_f} {vp.past} {manner} before {name_m} arrived.
{name_m} {vp.past} {manner} and then left.
{name_m} charged us {price} to {vp}.
{name_m} gave me {adj_thing.a} {item} for my birthday.
There's {adj_thing.a} {toy} under the {furniture}.
I bought {adj_thing.a} {tool} at the hardware store for {price}.
{name_f} paid {price} for {adj_thing.a} {clothing}.
{name_f} is {degree} {adj_person}, just like her {family}.
Our new {job} seems {degree} {adj_person}.
{name_f} sent me a postcard from {city}.
{name_m} spent {num} weeks in {country} last {season}.
{name_f} arrived in {city} at {time} on {weekday}.
The {transit} from {city} was {digits} minutes late.
{name_m} spent {price} on {dish.pl} for the whole team.
My {family} turned {digits} last {month}.
{name_f} lives at {bigdigits} {tree.cap} Street, near the {building}.
We moved to {city} in {year}.
The {appliance} cost {price}, but it was worth every cent.
Please be at the {building} by {time}, {name_m}.
{name_m}'s farm has {digits} {pet.pl} and a rather grumpy {pet2}.
{name_m} and his {family} moved from {city} to {city2} last year.
{name_f}'s {family} works as {job.a} in {city}.
When {name_m} visited {country}, he tried {food_m} for the first time.
{name_f} and her {family} spent the weekend {sport_go} near {city}.
{name_m} told the {job} that he would {vp} tomorrow.
{name_f} was too {adj_feel} to {vp} after the {event}.
Our {adj_person} neighbor is going to {vp} tomorrow.
My {adj_person} {family} never forgets to {vp}.
{name_m} {manner} {vp.past} while {name_f} {vp2.past}.
{name_f} looked {adj_feel} when she saw the {adj_thing} {item}.
{name_m} bought {num} {fruit.pl} and some {food_m} at the market for {smallprice}.
For dinner, {name_f} made {food_m} with {veg.pl} and a little {herb}.
The {wild.pl} at the zoo in {city} were asleep when we arrived.
{name_m} wore {color.a} {clothing} and {color2} {pair.pl} to the {event}.
We stayed at {adj_place.a} hotel in {city} for {num} nights.
Our {adj_person} neighbor {name_m} works as {job.a}.
{name_f} {freq} {vp.s} before she goes to work.
Last {season}, {name_m} taught his {family} how to {vp}.
In {month}, {name_f} is flying to {city} to see her {family}.
{name_m} hid the {item} behind the {furniture} so the {pet} couldn't find it.
{name_f}'s {pet} chewed up her {item} again!
{name_m} asked the {job} whether the {appliance} could be fixed.
{name_f} {manner} explained how to {vp}.
Can {name_m} {vp} while {name_f} {vp2.s}?
Why did {name_f} {vp} on such {wadj.a} day?
How often does {name_m} {vp}?
Did {name_f} remember to {vp} before leaving for {city}?
Has {name_m} ever been to {city} or anywhere else in {country}?
Who is the {adj_person} {job} who lives on {tree.cap} Street?
Is {name_f}'s {family} still working as {job.a} in {city}?
{name_m}, don't let the {pet} near the {food_m}!
I can't believe {name_f} {vp.past} without any help!
Quick, {name_m}, grab the {item} before the {transit} leaves!
Look, {name_f}, there's {wild.a} by the {landscape}!
What {exp.a} {event} that was, {name_m}!
Happy anniversary, {name_f} and {name_m}!
Watch out, {name_m}, you almost dropped the {kitchen}!
Hurry up, {name_f}, the {event} starts in {num} minutes!
{name_m} {vp.past} at {time} and then went to the {building}.
On {month} {day}, {name_f} and her {family} will fly to {country}.
{job.a} earns about {price} an hour in {city}.
In {year}, {name_m} moved to {city} to work as {job.a}.
{name_f} bought {num} {fruit.pl} and {num2} {veg.pl} for {smallprice}.
The {event} in {city} starts at {time} on {weekday}.
{name_m} needs to {vp} by {time} today.
It takes {name_f} about {digits} minutes to {vp}.
The {building} is open until {time} on {weekday.pl}.
{name_m} paid {smallprice} for {dish.a} and a cup of {drink}.
Our {transit} leaves from platform {num} at {time}.
The {building} on {tree.cap} Street closes at {time} tonight.
We have lived in {city} since {year}.
The {job} will be here at about {time}.
My {family} saved {bigprice} for a new {tech}.
I need to {vp} before {weekday}.
Did you remember to {vp}?
Could you please {vp} when you get a chance?
Let's {vp} after lunch.
Tomorrow at {time}, I have to {vp} and {vp2}.
{name_f} {vp.past} and then {vp2.past}.
{name_f} {vp.past} {manner}.
The children {vp.past} {manner} while we watched.
I've already {vp.pp} {num} times this month.
Have you {vp.pp} yet?
We were {vp.ing} when the phone rang at {time}.
{name_m} is {vp.ing} right now, so he can't come to the phone.
{name_f} {freq} {vp.s} on {weekday.pl}.
Why did you {vp} without asking me?
Who is going to {vp} this weekend?
It took us {digits} minutes to {vp}.
Would you mind {vp.ing} while I'm out?
I forgot to {vp}, so I'll do it tomorrow.
My {family} taught me how to {vp}.
Is it too late to {vp}?
{name_f} promised to {vp} by {time} on {weekday}.
Don't forget to {vp} before you leave!
{sadv}, {name_f} had already {vp.pp}.
At {early} every morning, {name_m} {vp.s}.
{name_f} was {vp.ing} when I called her on {weekday}.
Instead of {vp.ing}, we decided to {vp2}.
Nobody wants to {vp} on a {weekday} night.
Please remind {name_m} to {vp}.
Do you have time to {vp} later?
Wow, {name_f} really knows how to {vp}!
After a long day at the {building}, {name_f} likes to {vp} and relax with a cup of {drink}.
When we were children, my {family} and I spent every summer {sport_go} and eating {dish.pl}.
If it's {wadj} on {weekday}, we will take the {transit} to {city} and visit the old {building} there.
My {family} always says the best way to learn the {instrument} is to practice a little every day.
Before you leave for {country}, remember to {vp}, pack your {clothing}, and check your passport.
I was going to {vp} this afternoon, but {name_m} asked me to help with his {subject} homework.
The {job} who lives next door has {num} children, {num2} bicycles, and a very noisy {pet}.
On the first {weekday} of every month, we all get together for {food_m} and a long game of {sport_play}.
We had planned to go {sport_go} on {weekday}, but the {wmass} kept us at home.
{name_f} told me she found {adj_thing.a} {item} at the {building}, but nobody has come to collect it yet.
Even though it was {wadj} outside, the children still wanted to go {sport_go} before dinner.
My {family} and I went to {city} in {year}, and we still talk about the {event} we went to there.
""")

# Whole sentences written for this corpus: short replies, small talk and everyday remarks that
# templates do not produce naturally.
HANDWRITTEN = _lines("""
Yes, I think so.
No, not really.
Maybe next time.
That sounds like a great idea.
I'm not sure yet, let me check my calendar.
Sorry, I didn't catch your name.
Could you say that again, please?
It's getting late, we should head home.
I'll be there in ten minutes.
Thanks for waiting, I got stuck in traffic.
The printer is out of paper again.
We're out of milk, so I'll stop at the store on the way back.
Do you take sugar in your coffee?
Just a little, thanks.
Who wants the last slice of pizza?
I've never seen so much snow in my life!
Keep the change.
What a lovely surprise!
I can't believe how fast this year has gone.
Let me know when you get there.
Turn the music down, please; the baby is asleep.
It's your turn to do the dishes.
Is anyone sitting here?
Excuse me, is this the right bus for the city center?
The kettle has just boiled.
Breakfast is ready!
Dinner will be ready in about twenty minutes.
I'll have the soup of the day, please.
Can we get the check, please?
Does this shop accept cards?
The museum is free on the first Sunday of every month.
My phone battery is almost dead.
The train was canceled because of the storm.
I usually go to bed around eleven.
We moved into this house in 2015.
The rent went up by $75 this year.
She has lived on the same street for 40 years.
Our flight boards at 6:45, so we need to leave early.
The recipe serves 4 people.
I walked more than 9000 steps today.
The store opens at 9:30 on weekdays.
Tickets are $20 for adults and $10 for children.
The marathon is 26.2 miles long.
The baby weighed 3.4 kilograms when she was born.
There were 350 people at the wedding.
My grandparents got married in 1962.
Please call me back after 5:15.
The bus ride takes about 45 minutes.
Page 112 has a great photo of the old harbor.
Only 3 tickets were left when we arrived.
We need about 2.5 liters of water for the soup.
The speed limit here is 30 miles an hour.
I paid $4 for a cup of coffee, which seems like a lot.
The meeting has been moved to 2:30.
Our hotel room was number 214.
It's already a quarter past nine!
Wake me up at seven, please.
How much does it cost to fix a flat tire?
Where can I park my bike?
What do you want to do this weekend?
Have you had lunch yet?
How was your day?
How did the job interview go?
Are you feeling any better today?
Do you need a hand with those bags?
What time is it?
Is it going to rain later?
Did you sleep well?
Who's coming to dinner tonight?
Why is the front door open?
When does the library close?
Can you keep a secret?
Shall we take a short break?
Is there anything I can do to help?
What would you like for your birthday?
Where did you grow up?
How many brothers and sisters do you have?
Would you like to join us for dinner?
Have you finished reading that book yet?
Do you know a good place to eat around here?
What's the weather like where you are?
Can I pay by card?
How far is it to the nearest gas station?
Is this seat taken?
Did anyone feed the cat this morning?
What did you think of the movie?
Watch your step!
Happy New Year!
Good luck with your exam!
Well done, that was brilliant!
Hurry up, we're going to miss the train!
Oh no, I've locked myself out again!
That's the best news I've heard all week!
Be careful, the floor is wet!
What a beautiful rainbow!
I can't wait for the holidays!
Congratulations, you passed!
Stop, the light is red!
Look at all those stars!
Thank you so much for the flowers!
Don't touch that, it's hot!
I'm so proud of you!
We did it!
Enjoy your meal!
Drive safely, everyone!
Here comes the bus!
I'm sorry I'm late.
No problem at all.
Of course, go ahead.
I'd love to, but I'm busy tonight.
That's fine with me.
Not at the moment, thanks.
Let's meet halfway.
I'll think about it.
It doesn't matter.
That seems fair enough.
Sounds good to me.
I hope so.
I don't think so.
It depends on the weather.
Either one is fine.
I'll see what I can do.
You're very welcome.
Nice to meet you.
Take care of yourself.
Same here, thanks.
Good night, sleep well.
See you soon.
Please sit down.
The heating has been broken since Tuesday, so we are all wearing sweaters indoors.
My neighbor grows the biggest pumpkins I've ever seen.
She always hums while she cooks.
The baby finally fell asleep after an hour of crying.
I left the keys on the kitchen counter.
Our cat sleeps on the windowsill all afternoon.
He laughed so hard that he nearly fell off his chair.
The old man at the corner store always remembers my name.
We spent the whole evening looking at old family photos.
It smells like rain.
The streets were empty after midnight.
I'm trying to drink more water and less coffee.
My sister is learning to drive, and she is surprisingly good at it.
There's a strange noise coming from the engine.
The roof leaks whenever it rains heavily.
I wrote a shopping list, but I left it at home.
We took the long way home so we could see the lake.
Nobody told me the meeting had been canceled.
The children built a fort out of blankets and pillows.
His handwriting is almost impossible to read.
I need a vacation after this week.
The library has a great collection of old maps.
My grandfather tells the same jokes every Christmas.
She knitted a scarf for each of her grandchildren.
It took me three tries to pass my driving test.
The dog barks every time the doorbell rings.
We ordered too much food, so we took the rest home.
I always forget where I parked the car.
Our garden is full of weeds this year.
The new bakery on the corner sells amazing bread.
He fixed the squeaky door with a little oil.
I've been meaning to call you all week.
The movie was much better than the book.
My shoes are soaking wet.
We watched the sunset from the top of the hill.
The line at the post office went all the way out the door.
I'm allergic to peanuts, so I have to read every label.
She keeps a diary and writes in it every night.
He lost his voice after cheering at the game.
The wind blew our umbrella inside out.
We had to wait an hour for a table.
I can't hear you; the music is too loud.
Let's split the bill.
My coffee has gone cold.
The paint is still wet, so don't touch the wall.
The cat knocked a glass off the table.
We need to leave by seven if we want to beat the traffic.
She speaks three languages fluently.
The museum was closed for renovations.
The kids are finally asleep.
The sky turned orange just before sunset.
I found an old letter from my grandmother in the attic.
My brother always eats the crust first.
Could you water my plants while I'm away?
The neighbors are having a party tonight, so it might be noisy.
It's warm enough to eat outside today.
I prefer tea to coffee in the afternoon.
There's nothing good on television tonight.
The bridge is closed for repairs until Friday.
I forgot my umbrella and got completely soaked.
The bakery sells out of croissants before nine every morning.
We painted the fence white last summer.
The elevator is out of order, so we'll have to take the stairs.
A good night's sleep makes everything better.
My alarm didn't go off this morning.
There's a spider in the bathtub!
The house is quiet when the kids are at school.
I'm saving up for a new bike.
She practices the piano for an hour every evening.
This sofa is more comfortable than it looks.
Someone left a bag of apples on our doorstep.
The power went out during the storm, so we lit candles.
Our teacher gave us a surprise quiz on Monday.
I like to walk to work when the weather is nice.
We are having fish for dinner tonight.
The ice on the pond is too thin to walk on.
Could you turn the heating up a little?
It's been raining for three days straight.
He always sings in the shower.
The coffee shop on Main Street is always crowded on Saturdays.
I had to borrow a pen from the woman next to me.
My headphones stopped working in the middle of the flight.
The sunshine made everyone feel a bit happier.
A rainbow appeared right after the storm.
We moved the meeting to Thursday afternoon; I hope that works for you.
There are three things I need from the store: bread, eggs, and milk.
Remember the rule: wash your hands before every meal.
Honestly, I didn't expect the test to be so easy.
She smiled, waved, and walked away.
To be honest, I'm a little nervous about tomorrow.
I'm going to make pancakes for breakfast.
Would you rather live in the city or the countryside?
The farmers market is open every Saturday morning.
Maria's brother is a firefighter.
I borrowed Sam's ladder to clean the gutters.
The teacher's desk was covered in papers.
It's a long drive, so bring some snacks.
Let's grab a quick bite before the movie.
I'm afraid the tickets are sold out.
Don't worry, we have plenty of time.
The children were thrilled when it started to snow.
Twenty years later, they still meet for lunch every month.
She ran the last mile in under eight minutes.
I've lived here for almost twelve years.
Only one of the four lights in the kitchen works.
There are thirty two students in my daughter's class.
We bought a dozen eggs and two loaves of bread.
He turned forty last week, and we threw him a surprise party.
The recipe needs three cups of flour and half a cup of sugar.
It takes about fifteen minutes to walk to the station.
My grandmother is ninety one, and she still gardens every day.
In 1999, my parents opened a small bakery downtown.
The store is closed on Sundays and holidays.
This old watch belonged to my great grandfather.
The longest day of the year is in June.
Sometimes the simplest meals are the best ones.
We stayed up late telling stories around the campfire.
I'm looking forward to seeing you next week.
It was a long day, but we got everything done.
Could you speak a little more slowly, please?
I'll pick you up at the airport at 8:20.
We need to buy a present for Grandma before Sunday.
The apartment has two bedrooms and a small balcony.
The view from the top of the tower was incredible.
He apologized for being late, and we started the meeting.
Please leave your shoes by the door.
Did you hear that noise?
The milk smells a bit sour; I think it has gone bad.
The puppy chewed one of my slippers.
I've finally finished painting the spare room.
""")

# Short utterances, one to three words. The first twelve batches have 3 to 25 words a sentence, and a
# model trained on them alone never learned to end a one-word text ("Hi." ran to the length bound in every
# try), so the thirteenth batch is made of these: common replies and greetings as they are, and single
# list entries, names, numbers and times, as statements, questions and exclamations.
SHORT_BATCH = 12  # 0-based: lines 27,600 to 29,899 of a corpus of 29,900 or more
SHORT_MAX_WORDS = 3

SHORT_HANDWRITTEN = _lines("""
Hi. Hi! Hello. Hello? Hey! Yes. Yes! No. No! Okay. Sure. Thanks. Thanks! Please. Sorry. Sorry?
Really? Why? Why not? When? Where? Who? How? What? Which one? Wait! Stop! Help! Look! Listen. Quiet!
Goodbye. Good night. Good morning. Good evening. Good luck! Good job! Well done! Excuse me. Of course.
Not yet. Me too. Maybe. Perhaps. Never. Always. Sometimes. Absolutely. Exactly. Certainly. Definitely.
Thank you. Thank you! No thanks. You're welcome. Come in. Sit down. Stand up. Hurry up! Slow down.
Go ahead. Come here. Follow me. Be careful. Watch out! Calm down. Cheer up! Try again. See you. See you soon.
See you later. Take care. Happy birthday! Congratulations! Cheers! Bless you. Welcome home. Welcome back!
I agree. I know. I see. I'm sorry. I'm here. I'm ready. I'm fine. I'm coming! Not really. Nothing.
Everything. Nobody. Everybody. Somewhere. Anywhere. Nowhere. Tomorrow. Yesterday. Today. Tonight. Now.
Later. Soon. Right now. Just now. All right. Fair enough. No problem. Never mind. Good idea. Bad idea.
Too late. Not bad. So what? Why me? Guess what? Who knows? Is that all? Are you sure? Anything else?
How much? How many? How long? How far? How old? What time? What now? What happened? Seriously? Honestly?
Oh no! Oh dear. Oh well. Wow! Great! Fine. Perfect. Lovely! Amazing! Terrible. Fantastic! Brilliant!
Ready? Done. Finished. Almost. Not quite. Hold on. One moment. Just a minute. Let's go! Let me see.
Good afternoon. Sweet dreams. Have fun! Enjoy! Drive safely. Keep going. Don't worry. Don't move!
""".replace(". ", ".\n").replace("? ", "?\n").replace("! ", "!\n"))

SHORT_TEMPLATES = _lines("""
{fruit}. {fruit}? {veg}! {veg}. {dish}. {dish}? {food_m}? {food_m}.
{dessert}! {ingredient}. {drink}? {drink}, please. {herb}. {pet}! {pet}?
{wild}. {wild}! {bug}! {tool}. {tool}? {kitchen}. {item}? {item}.
{furniture}. {appliance}. {room}? {clothing}. {pair.pl}. {building}.
{building}? {job}? {job}. {vehicle}! {transit}? {wmass}. {wcount}!
{body}. {organ}. {landscape}. {landscape}? {flower}. {tree}. {school_item}?
{subject}. {instrument}! {genre}. {sport_play}? {sport_go}. {sport_do}.
{hobby}. {emotion}. {virtue}. {event}! {material}. {tech}? {office}.
{toy}! {family}? {color}. {adj_person}. {adj_feel}? {taste}! {adj_place}.
{wadj}. {exp}! {manner}. {freq}. {sadv}. {padv}!
{name_f}! {name_f}? {name_f}. {name_m}! {name_m}? {name_m}. {city}. {city}? {country}. {country}!
{weekday}. {weekday}? {month}. {season}. {num}. {tens}. Number {digits}. Room {bigdigits}? Since {year}.
It's {time}. {clock}. Only {price}. {ordinal}.
Hi, {name_f}. Hello, {name_m}! Thanks, {name_f}. Bye, {name_m}! Sorry, {name_f}. Morning, {name_m}.
{color} {fruit}. {adj_thing} {item}. {taste} {dish}! My {item}! The {building}? Very {adj_feel}.
Not {adj_feel}. So {taste}! Next {weekday}. In {month}. At {time}. In {city}? {num} {fruit.pl}.
Go {sport_go}! {degree} {exp}. {cooking} {veg}. {color} {flower.pl}.
""".replace(". ", ".\n").replace("? ", "?\n").replace("! ", "!\n"))

# ----------------------------------------------------------------------------------------------------
# Numbers: as words (no hyphens, which Festival trips over) and as simple digit strings.
# ----------------------------------------------------------------------------------------------------

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORDINAL_ONES = ("_ first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
                "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth").split()


def number_words(n):
    """0 <= n < 10000 in words: 342 -> 'three hundred and forty two'."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (" " + ONES[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + (" and " + number_words(rest) if rest else "")
    rest = n % 1000
    joiner = " and " if rest < 100 else " "
    return number_words(n // 1000) + " thousand" + (joiner + number_words(rest) if rest else "")


def ordinal_words(n):
    """1 <= n < 100 as an ordinal: 23 -> 'twenty third'."""
    if n < 20:
        return ORDINAL_ONES[n]
    if n % 10 == 0:
        return TENS[n // 10][:-1] + "ieth"
    return TENS[n // 10] + " " + ORDINAL_ONES[n % 10]


def _clock(rng):
    hour = number_words(rng.randint(1, 12))
    return rng.choice([f"{hour} o'clock", f"half past {hour}", f"quarter past {hour}",
                       f"quarter to {hour}", "noon", "midnight"])


GENERATORS = {
    "num": lambda rng: number_words(rng.randint(2, 12)),
    "tens": lambda rng: number_words(rng.randint(13, 99)),
    "digits": lambda rng: str(rng.randint(2, 99)),
    "bigdigits": lambda rng: str(rng.randint(100, 999)),
    "year": lambda rng: str(rng.randint(1975, 2023)),
    "oldyear": lambda rng: str(rng.randint(1925, 1965)),
    "day": lambda rng: str(rng.randint(1, 28)),
    "ordinal": lambda rng: ordinal_words(rng.randint(1, 31)),
    "early": lambda rng: f"{rng.randint(5, 9)}:{rng.randrange(5, 60, 5):02d}",
    "time": lambda rng: f"{rng.randint(1, 12)}:{rng.randrange(5, 60, 5):02d}",  # never :00, read oddly
    "clock": _clock,
    "price": lambda rng: f"${rng.randint(3, 250)}",
    "smallprice": lambda rng: f"${rng.randint(2, 19)}",
    "bigprice": lambda rng: f"${rng.randint(60, 900)}",
    "decimal": lambda rng: f"{rng.randint(1, 9)}.{rng.choice([25, 5, 75])}",
}

# ----------------------------------------------------------------------------------------------------
# Grammar
# ----------------------------------------------------------------------------------------------------

VOWELS = "aeiou"


def with_article(phrase):
    """'an apple', 'a university', 'an hour': by the sound of the first word, not its letter."""
    word = phrase.split()[0].lower()
    vowel_sound = (word[0] in VOWELS and word not in A_BEFORE_VOWEL) or word in AN_BEFORE_CONSONANT
    return ("an " if vowel_sound else "a ") + phrase


def plural(phrase):
    """Plural of a noun phrase, inflecting its last word: 'post office' -> 'post offices'."""
    head, _, word = phrase.rpartition(" ")
    if word in IRREGULAR_PLURALS:
        word = IRREGULAR_PLURALS[word]
    elif re.search(r"[^aeiou]y$", word):
        word = word[:-1] + "ies"
    elif re.search(r"(s|x|z|ch|sh)$", word):
        word += "es"
    else:
        word += "s"
    return f"{head} {word}".strip()


def _syllables(word):
    """Vowel groups, not counting a final silent e; y counts only after a vowel (play) or at the end (shy)."""
    return len(re.findall(r"[aeiou]+y?|y$", word[:-1] if word.endswith("e") else word))


def _doubles_final(word):
    """Whether a suffix doubles the final consonant: stop -> stopped, sad -> saddest, submit -> submitted."""
    short_cvc = _syllables(word) == 1 and re.search(r"[^aeiou][aeiou][^aeiouwxy]$", word)
    return bool(short_cvc) or word in STRESS_FINAL


def conjugate(phrase, form):
    """Inflect the verb heading a verb phrase: form is 's', 'past', 'pp' or 'ing'."""
    verb, _, rest = phrase.partition(" ")
    if form == "s":
        if verb in THIRD_PERSON_IRREGULAR:
            verb = THIRD_PERSON_IRREGULAR[verb]
        elif re.search(r"[^aeiou]y$", verb):
            verb = verb[:-1] + "ies"
        elif re.search(r"(s|x|z|ch|sh|[^o]o)$", verb):
            verb += "es"
        else:
            verb += "s"
    elif form == "ing":
        if verb.endswith("ie"):
            verb = verb[:-2] + "ying"
        elif verb.endswith("e") and not re.search(r"(ee|oe|ye)$", verb):
            verb = verb[:-1] + "ing"
        else:
            verb = (verb + verb[-1] if _doubles_final(verb) else verb) + "ing"
    elif verb in IRREGULAR_VERBS:
        verb = IRREGULAR_VERBS[verb][form == "pp"]
    elif verb.endswith("e"):
        verb += "d"
    elif re.search(r"[^aeiou]y$", verb):
        verb = verb[:-1] + "ied"
    else:
        verb = (verb + verb[-1] if _doubles_final(verb) else verb) + "ed"
    return f"{verb} {rest}".strip()


def superlative(adjective):
    """kind -> kindest, sad -> saddest, funny -> funniest, generous -> most generous."""
    syllables = _syllables(adjective)
    if " " in adjective or syllables > 2 or (syllables == 2 and not adjective.endswith("y")):
        return "most " + adjective
    if syllables == 2:
        return adjective[:-1] + "iest"
    if adjective.endswith("e"):
        return adjective + "st"
    return (adjective + adjective[-1] if _doubles_final(adjective) else adjective) + "est"


def inflect(value, form):
    if form is None:
        return value
    if form == "a":
        return with_article(value)
    if form == "pl":
        return plural(value)
    if form == "cap":
        return value.title()
    if form == "most":
        return superlative(value)
    return conjugate(value, form)


# ----------------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------------

SLOT = re.compile(r"\{([a-z_]*[a-z])(\d?)(?:\.([a-z]+))?\}")


class Deck:
    """A word list dealt in shuffled rounds, so every entry comes up once before any comes up twice."""

    def __init__(self, items, rng):
        self.items, self.rng, self.pile = items, rng, []
        self.unused = set(items)  # entries not yet in an accepted sentence

    def draw(self):
        if not self.pile:
            self.pile = self.items[:]
            self.rng.shuffle(self.pile)
        return self.pile.pop()


def compose(template, decks, rng):
    """Fill a template's slots; returns the sentence and the (deck, entry) pairs it used."""
    chosen = {}

    def fill(match):
        name, index, form = match.groups()
        if name + index not in chosen:
            if name in GENERATORS:
                chosen[name + index] = GENERATORS[name](rng)
            else:
                value = decks[name].draw()
                if value in chosen.values():  # {fruit} and {fruit2} should differ
                    value = decks[name].draw()
                chosen[name + index] = value
        return inflect(chosen[name + index], form)

    sentence = SLOT.sub(fill, template)
    used = [(key.rstrip("0123456789"), value) for key, value in chosen.items()]
    return sentence[0].upper() + sentence[1:], [(n, v) for n, v in used if n in decks]


def build_corpus(n, rng, batch=BATCH):
    """
    Hand-written sentences, then templated ones until every list entry is used and there are n.

    The sentences come in batches of `batch`, each shuffled on its own and appended: the first batch is
    the hand-written and covering sentences topped up to `batch`, every later one is `batch` new
    templated sentences. A larger n therefore keeps every earlier batch line for line and only appends,
    so the test and val splits (the first lines) never change when the corpus grows.
    """
    slots = {t: {m.group(1) for m in SLOT.finditer(t)} for t in TEMPLATES}
    deck_slots = {t: [m.group(1) for m in SLOT.finditer(t) if m.group(1) in DECKS] for t in TEMPLATES}
    unknown = set().union(*slots.values()) - set(DECKS) - set(GENERATORS)
    unused = set(DECKS) - set().union(*slots.values())
    if unknown or unused:
        raise ValueError(f"slots without a deck: {sorted(unknown)}, decks no template uses: {sorted(unused)}")

    decks = {name: Deck(items, rng) for name, items in DECKS.items()}
    corpus, seen = [], set()
    uses = dict.fromkeys(TEMPLATES, 0)

    def add(sentence):
        if sentence.lower() in seen:
            return False
        seen.add(sentence.lower())
        corpus.append(sentence)
        return True

    def add_composed(template):
        uses[template] += 1
        sentence, used = compose(template, decks, rng)
        if add(sentence):
            for name, value in used:
                decks[name].unused.discard(value)

    for sentence in HANDWRITTEN:
        add(sentence)
    # Coverage first, so that every entry of every list appears somewhere. Templates whose slots still
    # need words cover the lists in fewer sentences; dividing by past uses keeps any one from dominating.
    for name, deck in decks.items():
        templates = [t for t in TEMPLATES if name in slots[t]]
        while deck.unused:
            weights = [sum(bool(decks[d].unused) for d in deck_slots[t]) ** 2 / (1 + uses[t]) ** 2
                       for t in templates]
            add_composed(rng.choices(templates, weights)[0])
    done, goal = 0, max(len(corpus), min(n, batch))
    short_uses = dict.fromkeys(SHORT_TEMPLATES, 0)
    while True:
        if done == SHORT_BATCH * batch:
            for sentence in SHORT_HANDWRITTEN[:goal - len(corpus)]:  # an --n that cuts into the batch
                add(sentence)
            while len(corpus) < goal:  # an entry too long for a short sentence is drawn and skipped
                template = rng.choices(SHORT_TEMPLATES, [1 / (1 + short_uses[t]) ** 2 for t in SHORT_TEMPLATES])[0]
                short_uses[template] += 1
                sentence = compose(template, decks, rng)[0]
                if len(sentence.split()) <= SHORT_MAX_WORDS:
                    add(sentence)
        while len(corpus) < goal:  # then the least used templates, for variety
            add_composed(rng.choices(TEMPLATES, [1 / (1 + uses[t]) ** 2 for t in TEMPLATES])[0])
        part = corpus[done:]
        rng.shuffle(part)  # this batch only
        corpus[done:] = part
        if len(corpus) >= n:
            return corpus
        done, goal = len(corpus), min(n, len(corpus) + batch)


# ----------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------

ALLOWED = re.compile(r"[A-Z][A-Za-z0-9 .,?!':;$]*[.?!]")


def _words(sentence):
    """Lower-cased words with punctuation stripped from their edges (as dataset/stats.py counts them)."""
    return [w for w in (re.sub(r"^\W+|\W+$", "", w.lower()) for w in sentence.split()) if w]


def corpus_stats(sentences):
    """Totals of a list of sentences: size, vocabulary, sentence lengths and kinds of sentence."""
    lengths = [len(s.split()) for s in sentences]
    vocabulary = {w for s in sentences for w in _words(s)}
    n = max(len(sentences), 1)
    return {
        "n_sentences": len(sentences),
        "n_distinct_words": len(vocabulary),
        "n_distinct_alpha_words": sum(bool(re.fullmatch(r"[a-z']+", w)) for w in vocabulary),
        "min_words": min(lengths, default=0),
        "mean_words": sum(lengths) / n,
        "max_words": max(lengths, default=0),
        "share_5_to_15_words": sum(5 <= k <= 15 for k in lengths) / n,
        "share_questions": sum(s.endswith("?") for s in sentences) / n,
        "share_exclamations": sum(s.endswith("!") for s in sentences) / n,
        "share_with_digits": sum(any(c.isdigit() for c in s) for s in sentences) / n,
    }


def sentence_problem(sentence):
    """Why a sentence breaks the corpus rules, or None."""
    if not MIN_WORDS <= len(sentence.split()) <= MAX_WORDS:
        return f"not {MIN_WORDS} to {MAX_WORDS} words"
    if not ALLOWED.fullmatch(sentence):
        return "a character Festival may trip over, or no capital or final . ? !"
    if "  " in sentence or re.search(r" [.,?!:;]", sentence):
        return "stray spacing"
    if re.search(r"[A-Z]{2}", sentence):
        return "an all-caps word"
    if re.search(r"\.(?!\d)|(?<!\d)\.", sentence[:-1]):  # inside a sentence only decimals have a period
        return "a period that is not a decimal point"
    return None


def check_corpus(sentences):
    """One-line descriptions of every requirement the corpus fails (an empty list when it passes)."""
    stats = corpus_stats(sentences)
    problems = []
    if stats["n_sentences"] < MIN_SENTENCES:
        problems.append(f"{stats['n_sentences']} sentences, fewer than {MIN_SENTENCES}")
    if len({s.lower() for s in sentences}) != len(sentences):
        problems.append("duplicate sentences")
    if stats["n_distinct_words"] < MIN_DISTINCT_WORDS:
        problems.append(f"{stats['n_distinct_words']} distinct words, fewer than {MIN_DISTINCT_WORDS}")
    for kind, share in MIN_SHARE.items():
        if stats[f"share_{kind}"] < share:
            problems.append(f"{stats[f'share_{kind}']:.1%} {kind.replace('_', ' ')}, less than {share:.0%}")
    start = SHORT_BATCH * BATCH  # the short batch has 1 to SHORT_MAX_WORDS words a sentence, the others 3 or more
    outside = [s for s in sentences[:start] + sentences[start + BATCH:] if len(s.split()) < 3]
    inside = [s for s in sentences[start:start + BATCH] if len(s.split()) > SHORT_MAX_WORDS]
    for wrong, where in ((outside, "under 3 words outside"), (inside, f"over {SHORT_MAX_WORDS} words in")):
        if wrong:
            problems.append(f"{len(wrong)} sentences of {where} the short batch, e.g. {wrong[0]!r}")
    bad = [(s, why) for s in sentences if (why := sentence_problem(s))]
    if bad:
        problems.append(f"{len(bad)} bad sentences, e.g. {bad[0][0]!r}: {bad[0][1]}")
    return problems


def describe(stats):
    return (f"{stats['n_sentences']} sentences, {stats['n_distinct_words']} distinct words "
            f"({stats['n_distinct_alpha_words']} without digits), words per sentence "
            f"min {stats['min_words']} mean {stats['mean_words']:.1f} max {stats['max_words']} "
            f"({stats['share_5_to_15_words']:.0%} have 5 to 15), questions {stats['share_questions']:.1%}, "
            f"exclamations {stats['share_exclamations']:.1%}, with digits {stats['share_with_digits']:.1%}")


def write_lines(path, lines):
    """Write lines to path through a temporary file in the same folder, so readers never see half a file
    (flushed to disk before the rename; readable by all, as a file open() makes, not only by its owner)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the sentences")
    parser.add_argument("--n", type=int, default=29900,
                        help="number of sentences (more if needed to use every list entry once); a multiple of "
                             f"{BATCH} grows a corpus without changing its lines")
    parser.add_argument("--check", type=Path, metavar="FILE", help="only validate FILE and print its totals")
    args = parser.parse_args()

    if args.check:
        try:
            sentences = args.check.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            sys.exit(f"error: cannot read {args.check}: {e}")
    else:
        sentences = build_corpus(args.n, random.Random(SEED))
    print(describe(corpus_stats(sentences)))
    problems = check_corpus(sentences)
    if problems:
        sys.exit("error: " + "; ".join(problems))
    if not args.check and args.out.is_file():
        # Audio and codes of the lines already there stay as they are (make_demo.py skips existing files),
        # so those lines must not change: growing appends, shrinking cuts at the end.
        old = args.out.read_text(encoding="utf-8").splitlines()
        if sentences[:len(old)] != old and old[:len(sentences)] != sentences:
            sys.exit(f"error: --n {args.n} would change lines already in {args.out}, whose audio and codes "
                     f"would then no longer match their text: use a multiple of {BATCH}, or another --out")
    if not args.check:
        try:
            write_lines(args.out, sentences)
        except OSError as e:  # --out under a file, a read-only folder
            sys.exit(f"error: cannot write {args.out}: {e.strerror or e}")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
